import Foundation
import SpeechSynthesis
import XCTest

/// Synthesis reports the labelled subsets utterance by utterance and the pre-training audio by hours.
final class SynthesisProgressTests: XCTestCase {
    final class Reports: @unchecked Sendable {
        let lock = NSLock()
        var items: [(phase: String, done: Double, total: Double)] = []
        func add(_ phase: String, _ done: Double, _ total: Double) { lock.lock(); items.append((phase, done, total)); lock.unlock() }
    }

    func testBothPhasesReachTheirTotals() throws {
        let directory = Repository.temporaryDirectory("progress")
        defer { try? FileManager.default.removeItem(at: directory) }
        var synthesizer = SpeechCorpusSynthesizer(options: SpeechCorpusSynthesizerTests.tinyOptions(),
                                                  textDirectory: Repository.shakespeare)
        let reports = Reports()
        synthesizer.progress = { reports.add($0, $1, $2) }
        let summary = try synthesizer.run(into: directory)
        let labelled = reports.items.filter { $0.phase == "labelled" }
        XCTAssertEqual(labelled.map(\.done).sorted(), (1...labelled.count).map(Double.init))
        XCTAssertEqual(labelled.last.map { [$0.total] }, [Double(labelled.count)])
        XCTAssertLessThan(labelled.count, summary.total.utterances, "the pre-training utterances are not among them")
        let pretraining = reports.items.filter { $0.phase == "pretrain" }
        XCTAssertEqual(try XCTUnwrap(pretraining.last).done, 0.002, accuracy: 1e-12, "ends at --hours")
        XCTAssertEqual(pretraining.last?.total, 0.002)
    }
}
