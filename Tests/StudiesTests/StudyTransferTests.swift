import Foundation
import Studies
import TestSupport
import Training
import XCTest

/// The knowledge-transfer study at its quick size on a few synthetic plays: every question's arms run and are
/// measured, the section and figures are written, and a rerun with reuse trains nothing again.
final class StudyTransferTests: XCTestCase {
    nonisolated(unsafe) static var root: URL!
    nonisolated(unsafe) static var results: StudyTransferResults!

    /// Plays of words in "modern" spelling and the same plays in a "Folio" spelling (every e doubled).
    static func writePlays(into root: URL) throws {
        let words = ["the", "king", "queen", "speaks", "to", "a", "fool", "and", "his", "lord", "of", "night", "day", "sweet",
                     "storm", "island", "ghost", "father", "revenge", "spirit"]
        for (folder, spelling) in [("modern", { (word: String) in word }), ("folio", { $0.replacingOccurrences(of: "e", with: "ee") })] {
            let directory = root.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for (index, play) in ["comedy", "history", "hamlet", "tempest"].enumerated() {
                var draws = (0..<40_000).map { ($0 * 7919 + 13 * index + $0 / 7) % words.count }.makeIterator()
                let lines = (0..<400).map { _ in (0..<10).map { _ in spelling(words[draws.next()!]) }.joined(separator: " ") }
                try lines.joined(separator: ".\n").write(to: directory.appendingPathComponent("\(play).txt"), atomically: true, encoding: .utf8)
            }
        }
    }

    static func study(reuse: Bool) -> StudyTransfer {
        var size = StudyTransferSize.quick
        size.vocabulary = 200
        return StudyTransfer(size: size, text: root.appendingPathComponent("modern"), folioText: root.appendingPathComponent("folio"),
                             out: root.appendingPathComponent("study"), resultsFile: root.appendingPathComponent("docs/RESULTS.md"),
                             reuse: reuse, command: "pretrain study transfer --quick", cpu: "test CPU")
    }

    override class func setUp() {
        super.setUp()
        (root, results) = runQuickStudy("study-transfer") {
            root = $0
            try writePlays(into: root)
            return try study(reuse: false).run(console: ConsoleProgress(mode: .silent))
        }
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: root)
        super.tearDown()
    }

    func testEveryQuestionHasItsArmsOverItsSeeds() throws {
        let results = try XCTUnwrap(Self.results)
        XCTAssertEqual(results.arms(.kd), ["no KD", "KD (τ 2, ½ hard + ½ soft)"])
        XCTAssertEqual(results.arm(.kd, "no KD").map(\.seed), [1, 2])
        XCTAssertEqual(results.arms(.salt).count, 4)
        XCTAssertEqual(results.arms(.ernie), ["no teacher", "one-stage KD (Folio teacher)", "ERNIE-Tiny's four stages"])
        XCTAssertEqual(results.arm(.selfDistillation, "+ self-distillation").map(\.seed), [1, 2])
        XCTAssertEqual(results.arms(.growth), ["from scratch", "grown by fpi", "grown by aki", "grown by stack", "grown by aki + two-stage"])
        // The two-stage arm's first quarter: sub-models of 1 or 2 blocks, the 1-block ones cheaper than a whole step.
        let costs = try XCTUnwrap(results.stepCosts["grown by aki + two-stage"])
        XCTAssertEqual(costs.count, 2)
        XCTAssertTrue(costs.allSatisfy { $0 > 0 && $0 <= 1 + 1e-12 }, "\(costs)")
        XCTAssertEqual(results.arm(.spdf, "50 % sparse → dense").map(\.seed), [1, 2])
        for row in results.rows {
            XCTAssertTrue(row.finalLoss.isFinite && row.finalLoss > 0, "\(row.run): \(row.finalLoss)")
            XCTAssertEqual(row.question == .ernie, row.finalBitsPerByte == nil, row.run)
        }
        let sparse = try XCTUnwrap(results.arm(.spdf, "75 % sparse → dense").first?.sparsity)
        XCTAssertLessThan(try XCTUnwrap(sparse["flops/sparse_equivalent"]), try XCTUnwrap(sparse["flops/dense"]))
        XCTAssertEqual(try XCTUnwrap(results.selection).selected * 2, try XCTUnwrap(results.selection).windows, accuracy: 1)
    }

    /// fpi grows the quick size's small model by exact factors (width ×2, one identity block), so the grown run's
    /// step-0 evaluation is the small model's own final loss: the whole pipeline preserves the function.
    func testAnFPIGrownRunStartsAtTheSmallModelsLoss() throws {
        let results = try XCTUnwrap(Self.results)
        let small = try XCTUnwrap(results.arm(.kd, "no KD").first { $0.seed == 1 }?.finalLoss)
        let start = try XCTUnwrap(results.arm(.growth, "grown by fpi").first?.curve.first)
        XCTAssertEqual(start[0], 0)
        XCTAssertEqual(start[1], small, accuracy: 1e-4)
        let stacked = try XCTUnwrap(results.arm(.growth, "grown by stack").first?.curve.first?[1])
        XCTAssertNotEqual(stacked, small, accuracy: 1e-4, "stacking is not function-preserving")
    }

    func testTheSectionHoldsEveryQuestionTheClaimsAndTheFigures() throws {
        let document = try String(contentsOf: Self.root.appendingPathComponent("docs/RESULTS.md"), encoding: .utf8)
        XCTAssertTrue(document.contains(StudyTransferReport.heading))
        XCTAssertEqual(document.components(separatedBy: "\n### ").count - 1, 7)   // six questions and the claims
        XCTAssertEqual(StudyTransferReport.claims(try XCTUnwrap(Self.results)).count, 8)   // + the two-stage arm's growth claim and its FLOPs claim
        for question in ["kd", "salt", "self_distillation", "growth", "spdf"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent("docs/results/transfer-\(question).svg").path), question)
        }
    }

    func testARerunWithReuseTrainsNothingAgain() throws {
        let again = try Self.study(reuse: true).run(console: ConsoleProgress(mode: .silent))
        XCTAssertEqual(again.reusedRuns, again.rows.count + 2 + 1 + 3 + 3)   // + teachers, the first ERNIE stages, the sparse runs
        XCTAssertEqual(again.rows.map(\.finalLoss), try XCTUnwrap(Self.results).rows.map(\.finalLoss))
    }

    /// A run is reused only while the weights it read are the same: when another checkpoint takes the KD teacher's
    /// place, the students that distilled from it train again (and nothing else does); restored, they train once
    /// more, and then everything is reused.
    func testStudentsOfAChangedTeacherTrainAgain() throws {
        // The large model's final checkpoint takes the teacher's place; the teacher's run still looks finished.
        let checkpoint = Self.root.appendingPathComponent("study/teacher/checkpoints/step_000012")
        let kept = Self.root.appendingPathComponent("teacher-checkpoint")
        try FileManager.default.moveItem(at: checkpoint, to: kept)
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent("study/large-plain/checkpoints/step_000008"), to: checkpoint)
        let again = try Self.study(reuse: true).run(console: ConsoleProgress(mode: .silent))
        try FileManager.default.removeItem(at: checkpoint)
        try FileManager.default.moveItem(at: kept, to: checkpoint)
        XCTAssertEqual(again.reusedRuns, again.rows.count + 2 + 1 + 3 + 3 - 2, "the two KD students train again")
        let restored = try Self.study(reuse: true).run(console: ConsoleProgress(mode: .silent))
        XCTAssertEqual(restored.reusedRuns, restored.rows.count + 2 + 1 + 3 + 3 - 2, "they read the restored teacher")
        let settled = try Self.study(reuse: true).run(console: ConsoleProgress(mode: .silent))
        XCTAssertEqual(settled.reusedRuns, settled.rows.count + 2 + 1 + 3 + 3)
    }
}
