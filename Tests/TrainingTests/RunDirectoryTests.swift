import Foundation
import Training
import TestSupport
import XCTest

/// The run directory's names are the files a run writes, and they keep their on-disk spelling (the literals
/// below are the format: tools outside this package read these paths).
final class RunDirectoryTests: XCTestCase {
    func testNamesMatchTheFilesARunWrites() throws {
        let root = try makeTemporaryDirectory()
        let run = RunDirectory(root.appendingPathComponent("run"))
        try Trainer(recipe: tinyRecipe(steps: 10), runDirectory: run.url, corpus: TestCorpus.make(),
                    console: ConsoleProgress(mode: .silent)).run()
        try RunReport(runDirectory: run.url).write()

        let names = try FileManager.default.contentsOfDirectory(atPath: run.path)
        let events = names.filter(RunDirectory.isEventsFile)
        XCTAssertEqual(events.count, 1, "\(names)")
        XCTAssertTrue(events[0].hasPrefix("events.out.tfevents."), events[0])
        XCTAssertEqual(Set(names), Set(["recipe.yaml", "metrics.jsonl", "checkpoints", "report.html", ".lock"] + events))
        XCTAssertEqual(run.lockFile, run.url.appendingPathComponent(".lock"))
        XCTAssertEqual(run.recipe, run.url.appendingPathComponent("recipe.yaml"))
        XCTAssertEqual(run.metrics, run.url.appendingPathComponent("metrics.jsonl"))
        XCTAssertEqual(run.report, run.url.appendingPathComponent("report.html"))
        XCTAssertEqual(run.checkpoints.directory, run.url.appendingPathComponent("checkpoints"))
        XCTAssertEqual(run.checkpoints.latestPointer, run.url.appendingPathComponent("checkpoints/latest"))
        XCTAssertEqual(run.checkpoints.latest, run.url.appendingPathComponent("checkpoints/step_000010"))
        XCTAssertEqual(try run.storedRecipe(), run.recipe)
    }

    func testClearDeletesWhatARunWroteAndNothingElse() throws {
        let root = try makeTemporaryDirectory()
        let run = RunDirectory(root.appendingPathComponent("run"))
        try Trainer(recipe: tinyRecipe(steps: 10), runDirectory: run.url, corpus: TestCorpus.make(),
                    console: ConsoleProgress(mode: .silent)).run()
        try RunReport(runDirectory: run.url).write()
        try "mine".write(to: run.url.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        try run.clear()
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: run.path)), ["notes.txt", ".lock"],
                       "the lock file stays: deleting it could let two processes lock two different files")
        XCTAssertThrowsError(try run.storedRecipe()) { error in
            XCTAssertTrue("\(error)".contains("not a run directory (no recipe.yaml)"), "\(error)")
        }
    }

    func testBranchProbeFineTuningAndStagePathsKeepTheirNames() {
        let run = RunDirectory(URL(fileURLWithPath: "/runs/main"))
        XCTAssertEqual(run.anneal(fromStep: 20, steps: 10).path, "/runs/main/anneals/from_20_steps_10")
        XCTAssertEqual(run.probeResults(named: "encoder-10-per-class").path, "/runs/main/probes/encoder-10-per-class.json")
        let fineTuning = run.fineTuning(named: "pr-all-seed0")
        XCTAssertEqual(fineTuning.url.path, "/runs/main/finetune/pr-all-seed0")
        XCTAssertEqual(fineTuning.result.path, "/runs/main/finetune/pr-all-seed0/result.json")
        XCTAssertEqual(fineTuning.checkpoint.path, "/runs/main/finetune/pr-all-seed0/checkpoint")
        XCTAssertEqual(fineTuning.ctcHead.path, "/runs/main/finetune/pr-all-seed0/ctc_head.safetensors")
        XCTAssertEqual(run.tokenizer.path, "/runs/main/tokenizer.json")
        XCTAssertEqual(RunDirectory.beatsStagePath(iteration: 2, .tokenizer), "iter2/tokenizer")
        XCTAssertEqual(RunDirectory.beatsStagePath(iteration: 1, .ssl), "iter1/ssl")
        XCTAssertEqual(RunDirectory.eventsFileName(startSeconds: 1_700_000_000, host: "node-1"), "events.out.tfevents.1700000000.node-1")
        XCTAssertTrue(RunDirectory(defaultForRecipe: URL(fileURLWithPath: "recipes/tiny.yaml")).path.hasSuffix("/runs/tiny"))
    }

    func testACheckpointKnowsItsRun() {
        let step = URL(fileURLWithPath: "/runs/main/checkpoints/step_000010")
        XCTAssertEqual(RunDirectory(ofCheckpoint: step).path, "/runs/main")
        XCTAssertTrue(RunDirectory(ofCheckpoint: step).holds(step))
        let fineTuned = URL(fileURLWithPath: "/runs/main/finetune/pr-all-seed0/checkpoint")
        XCTAssertFalse(RunDirectory(ofCheckpoint: fineTuned).holds(fineTuned), "not in a checkpoints/ directory")
    }
}
