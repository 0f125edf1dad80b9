import AudioData
import Foundation
import Probes
import TestSupport
import XCTest

/// A probe reports its encoding of utterances (most of its time) as it goes, up to every utterance it needs.
final class ProbeProgressTests: XCTestCase {
    func testEncodingIsReportedUpToEveryUtteranceTheTaskNeeds() throws {
        let corpus = try makeTemporaryDirectory()
        try ToneCorpus.make(in: corpus)
        let runner = ProbeRunner(corpus: corpus)
        var reports: [(done: Int, total: Int)] = []
        runner.progress = { reports.append(($0, $1)) }
        let result = try runner.run(.ks, representation: try FbankRepresentation(options: FbankOptions()), labelsPerClass: 4,
                                    seeds: [0, 1])
        let total = try XCTUnwrap(reports.first?.total)
        XCTAssertEqual(reports.map(\.done), Array(1...total), "one report per utterance encoded")
        XCTAssertTrue(reports.allSatisfy { $0.total == total })
        XCTAssertGreaterThanOrEqual(total, result.trainUtterances[0] + result.testUtterances)
    }
}
