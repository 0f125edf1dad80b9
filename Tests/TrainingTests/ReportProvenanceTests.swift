import Foundation
import Tensors
import TestSupport
import Training
import XCTest

/// The report says where and how long a run trained, shows the clip threshold and lists the run's anneal branches.
final class ReportProvenanceTests: XCTestCase {
    func testTheReportNamesTheMachineTheTrainersTimeTheClipAndTheBranches() throws {
        let root = try makeTemporaryDirectory()
        var recipe = tinyRecipe(steps: 6)
        recipe.optim.clip = 0.5
        let run = root.appendingPathComponent("run")
        try Trainer(recipe: recipe, runDirectory: run, corpus: TestCorpus.make(), console: ConsoleProgress(mode: .silent)).run()
        let branch = run.appendingPathComponent("anneals/from_4_steps_2")
        try FileManager.default.createDirectory(at: branch, withIntermediateDirectories: true)
        try #"{"step": 6, "val_loss": 3.25}"#.appending("\n").write(to: branch.appendingPathComponent("metrics.jsonl"),
                                                                   atomically: true, encoding: .utf8)

        let report = try RunReport(runDirectory: run)
        let state = try TrainerState.read(try Checkpoint.resolve(run).appendingPathComponent(Checkpoint.stateFile))
        XCTAssertEqual(state.machine, Machine.summary, "the checkpoint records the machine")
        let summary = Dictionary(report.summary.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(summary["machine"], Machine.summary)
        XCTAssertFalse(summary["wall time"]?.contains("estimated") ?? true, "the trainer's elapsed_seconds, not an estimate")
        XCTAssertEqual(summary["anneal branch from_4_steps_2"], "final val loss 3.2500 at step 6")
        let gradient = try XCTUnwrap(report.plots.first { $0.title.hasPrefix("Gradient norm") })
        XCTAssertEqual(gradient.series.last?.name, "clip 0.5000")
        XCTAssertEqual(gradient.series.last?.points.map(\.y), [0.5, 0.5])
    }
}
