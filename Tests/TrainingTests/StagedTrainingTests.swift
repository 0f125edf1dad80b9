import Foundation
import Objectives
import TestSupport
import Training
import XCTest

/// `pretrain stages`: a chain of ordinary runs, each from the previous stage's weights unless told otherwise.
final class StagedTrainingTests: XCTestCase {
    private func writePlan(in root: URL, _ stages: String) throws {
        try TestCorpus.writePrepared(to: root.appendingPathComponent("corpus"))
        try """
            model: {layers: 2, d_model: 16, heads: 2, context: 8}
            data: {corpus: corpus}
            optim: {batch_size: 4}
            train: {steps: 4, eval_every: 4, log_every: 1, checkpoint_every: 4}
            """.write(to: root.appendingPathComponent("tiny.yaml"), atomically: true, encoding: .utf8)
        try stages.write(to: root.appendingPathComponent("plan.yaml"), atomically: true, encoding: .utf8)
    }

    /// A teacher, a student distilled from it (fresh weights: init_from none) and a further stage from the student;
    /// a second run of the command has nothing left to do.
    func testStagesChainRunsAndStartEachFromTheNamedWeights() throws {
        let root = try makeTemporaryDirectory()
        try writePlan(in: root, """
            stages:
              - {name: teacher, recipe: tiny.yaml, set: ["model.d_model=32"]}
              - name: student
                recipe: tiny.yaml
                init_from: none
                set: ["objective.kind=distill", "objective.distill.teacher={stage:teacher}"]
              - {name: further, recipe: tiny.yaml, set: ["train.steps=6"]}
            """)
        let first = try runPretrain(["stages", "plan.yaml", "--out", "chain"], in: root)
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertTrue(first.output.contains("stages: 3 finished"), first.output)
        func state(_ stage: String, _ step: Int) throws -> TrainerState {
            try TrainerState.read(root.appendingPathComponent("chain/\(stage)/checkpoints/step_\(String(format: "%06d", step))/trainer_state.json"))
        }
        XCTAssertNil(try state("teacher", 4).initializedFrom)
        XCTAssertNil(try state("student", 4).initializedFrom)
        XCTAssertEqual(try state("further", 6).initializedFrom,
                       root.appendingPathComponent("chain/student/checkpoints/step_000004").path)
        let again = try runPretrain(["stages", "plan.yaml", "--out", "chain"], in: root)
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertEqual(again.output.components(separatedBy: ": finished (").count - 1, 3, again.output)
    }

    func testPlanMistakesAreOneLineErrorsNamingThePlace() throws {
        let root = try makeTemporaryDirectory()
        for (plan, expected) in [
            ("stages:\n  - {name: a, recipe: tiny.yaml, set: [\"objective.distill.teacher={stage:b}\"]}", "{stage:b} names no earlier stage"),
            ("stages:\n  - {name: a, recipe: tiny.yaml, init: x}", "init"),
            ("stages:\n  - {name: a, recipe: tiny.yaml}\n  - {name: a, recipe: tiny.yaml}", "name a is used twice"),
            ("stages: []", "stages is empty"),
        ] {
            try writePlan(in: root, plan)
            let result = try runPretrain(["stages", "plan.yaml", "--out", "chain"], in: root)
            XCTAssertNotEqual(result.status, 0)
            XCTAssertTrue(result.output.contains(expected), result.output)
            XCTAssertEqual(result.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, result.output)
        }
    }

    /// recipes/stages-example.yaml reads: two stages from the demo model, the second distilling from the first.
    func testTheExampleStagesFileReads() throws {
        let recipes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("recipes")
        let plan = try StagesPlan.load(recipes.appendingPathComponent("stages-example.yaml"), root: URL(fileURLWithPath: "/tmp/chain"))
        XCTAssertEqual(plan.stages.map(\.name), ["further", "self_distilled"])
        XCTAssertEqual(plan.stages.map { $0.initFrom?.path }, ["runs/demo", "runs/demo"].map { URL(fileURLWithPath: $0).path })
        let distilled = plan.stages[1].recipe
        XCTAssertEqual(distilled.objective.kind, .distill)
        XCTAssertEqual(distilled.objective.distill?.teacher, "/tmp/chain/further")
        XCTAssertEqual(distilled.objective.distill?.config.projectHidden, false)
        XCTAssertEqual(distilled.data.corpus, "data/target")
    }
}
