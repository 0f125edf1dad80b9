import Foundation
import Studies
import TestSupport
import Training
import XCTest

/// The downstream study at its quick size on the bundled plays (without data/sources: the three Shakespeare tasks):
/// every part's runs and fine-tunings happen, the section is written, and a rerun with reuse trains nothing.
final class StudyDownstreamTests: XCTestCase {
    nonisolated(unsafe) static var root: URL!
    nonisolated(unsafe) static var results: StudyDownstreamResults!

    static func study(reuse: Bool) -> StudyDownstream {
        StudyDownstream(size: .quick, text: repositoryRoot.appendingPathComponent("data/shakespeare"),
                        sources: root.appendingPathComponent("no-sources"), out: root.appendingPathComponent("study"),
                        resultsFile: root.appendingPathComponent("docs/RESULTS.md"), reuse: reuse,
                        command: "pretrain study downstream --quick", cpu: "test CPU")
    }

    override class func setUp() {
        super.setUp()
        (root, results) = runQuickStudy("study-downstream") {
            root = $0
            return try study(reuse: false).run(console: ConsoleProgress(mode: .silent))
        }
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: root)
        super.tearDown()
    }

    func testEveryPartHasItsRowsOverItsSeeds() throws {
        let results = try XCTUnwrap(Self.results)
        XCTAssertEqual(results.tasks, ["shakespeare-play", "shakespeare-genre", "shakespeare-character"])
        let suite = results.rows.filter { $0.part == "suite" }
        XCTAssertEqual(suite.count, 3 * 4)
        XCTAssertTrue(suite.allSatisfy { $0.accuracy.count == 2 && $0.accuracy.allSatisfy { (0...1).contains($0) } })
        XCTAssertEqual(results.baselines.map(\.task), results.tasks)
        XCTAssertEqual(results.zeroShot.count, 3 * 2)
        // PCP vs TAPT vs none, conventional and prompt-based, on the genre task (the offensive one needs data/sources).
        let adaptive = results.rows.filter { $0.part == "adaptive" }
        XCTAssertEqual(Set(adaptive.map(\.model)), ["none", "TAPT", "PCP"])
        XCTAssertEqual(Set(adaptive.map(\.method)), ["conventional", "prompt-based"])
        XCTAssertEqual(adaptive.count, 6)
        let selfTraining = results.rows.filter { $0.part == "self-training" }
        XCTAssertEqual(selfTraining.count, 2 * 2 * 2)   // tasks × (K, all) × (alone, self-training)
        XCTAssertEqual(Set(selfTraining.map(\.shotsLabel)), ["4", "all"])
        // Five routes (the base, three to its loss, one past its end), each at an evaluated checkpoint; traces are finite.
        XCTAssertEqual(results.flatness.count, 5)
        XCTAssertTrue(results.flatness.allSatisfy { $0.trace.isFinite && $0.valLoss.isFinite })
        XCTAssertEqual(results.flatness[0].valLoss, try XCTUnwrap(results.targetLoss))
        XCTAssertEqual(results.rows.filter { $0.part == "flatness" }.count, 5 * 2)
    }

    func testTheSectionHoldsEveryPartAndTheClaims() throws {
        let document = try String(contentsOf: Self.root.appendingPathComponent("docs/RESULTS.md"), encoding: .utf8)
        XCTAssertTrue(document.contains(StudyDownstreamReport.heading))
        XCTAssertEqual(document.components(separatedBy: "\n### ").count - 1, 5)   // four parts and the claims
        // The flatness scatter and the PCP figure of the genre task, beside the results file.
        for figure in ["downstream-flatness.svg", "downstream-pcp-shakespeare-genre.svg"] {
            XCTAssertTrue(document.contains("![](results/\(figure))"), figure)
            let svg = try String(contentsOf: Self.root.appendingPathComponent("docs/results/\(figure)"), encoding: .utf8)
            XCTAssertTrue(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"), figure)
        }
        // Domain (GPT, BERT), PCP at one K on one task, self-training on 2 tasks × 2, flatness.
        XCTAssertEqual(StudyDownstreamReport.claims(try XCTUnwrap(Self.results)).count, 2 + 1 + 4 + 1)
    }

    func testARerunWithReuseTrainsAndFineTunesNothingAgain() throws {
        let again = try Self.study(reuse: true).run(console: ConsoleProgress(mode: .silent))
        XCTAssertEqual(again.reusedRuns, 4 + 2 + 4)
        let results = try XCTUnwrap(Self.results)
        XCTAssertEqual(again.reusedFineTunings, results.rows.count)
        XCTAssertEqual(again.rows, results.rows)
    }

    /// `--report-only`: the same section again from results.json, and a one-line error without one.
    func testTheSectionIsRewrittenFromResultsJSON() throws {
        let again = Self.root.appendingPathComponent("again/RESULTS.md")
        _ = try StudyDownstreamReport.rewrite(out: Self.root.appendingPathComponent("study"), resultsFile: again)
        let (rewritten, original) = (try String(contentsOf: again, encoding: .utf8),
                                     try String(contentsOf: Self.root.appendingPathComponent("docs/RESULTS.md"), encoding: .utf8))
        // (A first write ends the file with one newline more than a replacement of the section.)
        XCTAssertEqual(rewritten.trimmingCharacters(in: .newlines), original.trimmingCharacters(in: .newlines))
        let empty = Self.root.appendingPathComponent("empty")
        XCTAssertThrowsError(try StudyDownstreamReport.rewrite(out: empty, resultsFile: again)) { error in
            XCTAssertEqual("\(error)", "\(empty.path)/results.json: cannot read: no such file or directory")
        }
    }
}
