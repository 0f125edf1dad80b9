import Foundation
import Studies
import TestSupport
import Training
import XCTest

/// The composition study at its quick size on the bundled plays: every part's rows over the seeds, finite scores on
/// every domain, the merges written as checkpoints, the section and its claims, and a rerun with reuse trains nothing.
final class StudyComposeTests: XCTestCase {
    nonisolated(unsafe) static var root: URL!
    nonisolated(unsafe) static var results: StudyComposeResults!

    static func study(reuse: Bool) -> StudyCompose {
        StudyCompose(size: .quick, text: repositoryRoot.appendingPathComponent("data/shakespeare"),
                     folioText: repositoryRoot.appendingPathComponent("data/shakespeare-folio"), out: root.appendingPathComponent("study"),
                     resultsFile: root.appendingPathComponent("docs/RESULTS.md"), reuse: reuse,
                     command: "pretrain study compose --quick", cpu: "test CPU")
    }

    override class func setUp() {
        super.setUp()
        (root, results) = runQuickStudy("study-compose") {
            root = $0
            return try study(reuse: false).run(console: ConsoleProgress(mode: .silent))
        }
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: root)
        super.tearDown()
    }

    func testEveryPartHasItsRowsOverTheSeeds() throws {
        let results = try XCTUnwrap(Self.results)
        let seeds = StudyComposeSize.quick.seeds, betas = StudyComposeSize.quick.betas.count
        XCTAssertEqual(results.rows.filter { $0.part == "up-scaling" }.count, 1 + seeds * (2 + betas))
        XCTAssertEqual(results.rows.filter { $0.part == "residual" }.count, seeds * 4)
        XCTAssertEqual(results.rows.filter { $0.part == "merging" }.count, seeds * 5)
        for row in results.rows {
            XCTAssertEqual(Set(row.bitsPerByte.keys), Set(StudyCompose.domains), row.arm)
            XCTAssertTrue(row.bitsPerByte.values.allSatisfy { $0.isFinite && $0 > 0 }, "\(row.arm): \(row.bitsPerByte)")
        }
        // β = 0 is the large base alone: the same score for every seed.
        let alone = results.rows.filter { $0.arm == "large base (β = 0)" }
        XCTAssertEqual(Set(alone.map { $0.bitsPerByte["folio"]! }).count, 1)
        for name in ["residual-s1", "average-s1", "task-arithmetic-s1", "ties-s1"] {
            XCTAssertTrue(Checkpoint.isComplete(Self.root.appendingPathComponent("study/merges/\(name)")), name)
        }
    }

    func testTheSectionHoldsEveryPartAndTheClaims() throws {
        let document = try String(contentsOf: Self.root.appendingPathComponent("docs/RESULTS.md"), encoding: .utf8)
        XCTAssertTrue(document.contains(StudyComposeReport.heading))
        XCTAssertEqual(document.components(separatedBy: "\n### ").count - 1, 4)   // three parts and the claims
        XCTAssertEqual(StudyComposeReport.claims(try XCTUnwrap(Self.results)).count, 4 + 3 + 3)
    }

    func testARerunWithReuseTrainsNothingAgain() throws {
        let again = try Self.study(reuse: true).run(console: ConsoleProgress(mode: .silent))
        XCTAssertEqual(again.reusedRuns, 2 + 5 * StudyComposeSize.quick.seeds)
        XCTAssertEqual(again.rows, try XCTUnwrap(Self.results).rows)
    }
}
