import Foundation
import Optimizers
import TestSupport
import Training
import XCTest

/// Schedules for continual pre-training: repeated cosine, rewarming from any checkpoint, and `pretrain anneal`
/// branches of an infinite-schedule run.
final class ContinualScheduleTests: XCTestCase {
    func testRepeatedCosineRewarmsEveryCycle() throws {
        let schedule = try Recipe.parse("""
            optim: {lr: 1.0}
            schedule: {kind: repeated_cosine, warmup: 2, min_lr: 0.1, cycle: 10}
            """).learningRateSchedule()
        let one = LearningRateSchedule.cosine(maxLR: 1, minLR: 0.1, warmup: 2, total: 10)
        for step in 0..<30 {
            XCTAssertEqual(schedule.learningRate(at: step), one.learningRate(at: step % 10), "step \(step)")
        }
        XCTAssertEqual(schedule.learningRate(at: 10), 0.5, "the second cycle rewarms from lr·1/warmup")
        XCTAssertEqual(schedule.learningRate(at: 11), 1)
        XCTAssertLessThan(schedule.learningRate(at: 9), 0.15)

        for (yaml, expected) in [("schedule: {kind: repeated_cosine}", "schedule.cycle (steps per cosine cycle) is required"),
                                 ("schedule: {kind: repeated_cosine, cycle: 5, warmup: 5}", "must be longer than schedule.warmup"),
                                 ("schedule: {kind: repeated_cosine, cycle: 5, total: 50}", "schedule.total does not apply")] {
            XCTAssertThrowsError(try Recipe.parse(yaml)) { XCTAssertTrue("\($0)".contains(expected), "\($0)") }
        }
    }

    /// --init-from any checkpoint (not only the newest) with a chosen peak and warmup: step 0 evaluates the weights
    /// as loaded (equal to the source run's evaluation at that checkpoint), then the lr rises linearly to the peak.
    func testRewarmingFromAnyCheckpointToAChosenPeak() throws {
        let root = try makeTemporaryDirectory()
        let source = root.appendingPathComponent("source")
        var upstream = tinyRecipe(steps: 20)
        upstream.model.dropout = 0
        try Trainer(recipe: upstream, runDirectory: source, corpus: TestCorpus.make(), console: ConsoleProgress(mode: .silent)).run()
        var rewarm = upstream
        rewarm.train.steps = 8
        rewarm.optim.lr = 2e-3
        rewarm.schedule = try Recipe.parse("schedule: {kind: constant, warmup: 4}").schedule
        let target = root.appendingPathComponent("rewarm")
        try Trainer(recipe: rewarm, runDirectory: target, corpus: TestCorpus.make(),
                    start: .initFrom(source.appendingPathComponent("checkpoints/step_000010")),
                    console: ConsoleProgress(mode: .silent)).run()

        let upstreamRows = try readMetrics(source.appendingPathComponent("metrics.jsonl"))
        let rows = try readMetrics(target.appendingPathComponent("metrics.jsonl"))
        XCTAssertEqual(rows.first?.step, 0)
        XCTAssertEqual(rows.first?.valLoss, upstreamRows.first { $0.step == 10 }?.valLoss,
                       "the weights of step 10, evaluated on the same batches")
        XCTAssertNil(rows.first?.lr, "no update at step 0")
        let lrs = rows.dropFirst().map { try! XCTUnwrap($0.lr) }
        let expected: [Double] = [0.5e-3, 1e-3, 1.5e-3, 2e-3, 2e-3, 2e-3, 2e-3, 2e-3]
        for (actual, wanted) in zip(lrs, expected) { XCTAssertEqual(actual, wanted, accuracy: 1e-9) }
        XCTAssertEqual(lrs.count, 8)
    }

    /// The main run: infinite schedule (warmup 2, cooldown 4 to 1e-3), checkpoints every 5 steps, all kept.
    private func infiniteRun(in root: URL) throws -> URL {
        var recipe = tinyRecipe(steps: 20)
        recipe.schedule = try Recipe.parse("schedule: {kind: infinite, warmup: 2, cooldown: 4, constant_lr: 1.0e-3, min_lr: 1.0e-4}").schedule
        recipe.train.checkpointEvery = 5
        recipe.train.keepLast = 10
        let run = root.appendingPathComponent("main")
        try Trainer(recipe: recipe, runDirectory: run, corpus: TestCorpus.make(), console: ConsoleProgress(mode: .silent)).run()
        return run
    }

    /// Every file under `directory` (but anneals/) with its bytes.
    private func snapshot(_ directory: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])!
        for case let url as URL in enumerator where try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true {
            let relative = String(url.path.dropFirst(directory.path.count))
            if !relative.hasPrefix("/anneals/") { files[relative] = try Data(contentsOf: url) }
        }
        return files
    }

    func testAnAnnealBranchesWithoutTouchingTheMainRun() throws {
        let root = try makeTemporaryDirectory()
        let run = try infiniteRun(in: root)
        let before = try snapshot(run)
        let branch = try AnnealBranch(runDirectory: run, fromStep: 10, steps: 6, shape: .linear)
        XCTAssertEqual(branch.directory.path, run.appendingPathComponent("anneals/from_10_steps_6").path)
        let summary = try branch.trainer(corpus: TestCorpus.make(), console: ConsoleProgress(mode: .silent)).run()
        XCTAssertTrue(summary.finished)
        XCTAssertEqual(try snapshot(run), before, "the main run's files are byte-identical")

        let main = try readMetrics(run.appendingPathComponent("metrics.jsonl"))
        let anneal = try readMetrics(branch.directory.appendingPathComponent("metrics.jsonl"))
        XCTAssertEqual(anneal.map(\.step), Array(11...16))
        for row in anneal {   // update k (0-based) = step k + 1: constant_lr → min_lr linearly over steps 10…16
            let progress = Double(row.step - 1 - 10) / 6
            XCTAssertEqual(try XCTUnwrap(row.lr), 1e-3 + progress * (1e-4 - 1e-3), accuracy: 1e-9, "lr at step \(row.step)")
        }
        // Update 10 still runs at constant_lr, so steps 11 and 12 see the main run's batches on the same weights.
        for step in [11, 12] {
            let (a, b) = (anneal.first { $0.step == step }!, main.first { $0.step == step }!)
            XCTAssertEqual(a.loss, b.loss, "same data order at step \(step)")
        }
        XCTAssertEqual(anneal.first { $0.step == 11 }?.gradNorm, main.first { $0.step == 11 }?.gradNorm)
        let state = try TrainerState.read(branch.directory.appendingPathComponent("checkpoints/step_000016/trainer_state.json"))
        XCTAssertEqual(state.branchedFrom, run.appendingPathComponent("checkpoints/step_000010").path)

        XCTAssertThrowsError(try AnnealBranch(runDirectory: run, fromStep: 10, steps: 6)) {
            XCTAssertTrue("\($0)".contains("already holds this anneal"), "\($0)")
        }
    }

    func testAnAnnealNamesTheMissingCheckpointOrTheWrongSchedule() throws {
        let root = try makeTemporaryDirectory()
        let run = try infiniteRun(in: root)
        XCTAssertThrowsError(try AnnealBranch(runDirectory: run, fromStep: 7, steps: 3)) {
            XCTAssertTrue("\($0)".contains("no complete checkpoint at step 7 (it has: 5, 10, 15, 20)"), "\($0)")
        }
        let cosine = root.appendingPathComponent("cosine")
        try Trainer(recipe: tinyRecipe(steps: 10), runDirectory: cosine, corpus: TestCorpus.make(),
                    console: ConsoleProgress(mode: .silent)).run()
        XCTAssertThrowsError(try AnnealBranch(runDirectory: cosine, fromStep: 10, steps: 3)) {
            XCTAssertTrue("\($0)".contains("cosine schedule") && "\($0)".contains("schedule.kind: infinite"), "\($0)")
        }
        XCTAssertThrowsError(try AnnealBranch(runDirectory: root.appendingPathComponent("nowhere"), fromStep: 5, steps: 3)) {
            XCTAssertTrue("\($0)".contains("not a run directory"), "\($0)")
        }
    }
}
