import Foundation
import TestSupport
import Training
import XCTest

/// `--overwrite` never loses the earlier run to a new run that cannot start: the recipe, corpus, model and
/// --init-from are checked first, the earlier run's files are then set aside (RUN/.overwritten-<time>/), and
/// they are deleted only once the new run's first checkpoint is complete.
final class OverwriteTests: XCTestCase {
    private let silent = ConsoleProgress(mode: .silent)

    /// A prepared corpus, a 20-step recipe reading it, and a finished run of it in ROOT/run.
    private func trainedRun(in root: URL) throws -> (recipe: URL, run: RunDirectory) {
        try TestCorpus.writePrepared(to: root.appendingPathComponent("corpus"))
        let recipe = root.appendingPathComponent("tiny.yaml")
        try """
            model: {layers: 2, d_model: 16, heads: 2, context: 8}
            data: {corpus: \(root.path)/corpus}
            optim: {lr: 3e-3, batch_size: 4}
            train: {steps: 20, eval_every: 10, eval_batches: 2, checkpoint_every: 10, keep_last: 3, seed: 5}
            """.write(to: recipe, atomically: true, encoding: .utf8)
        let run = RunDirectory(root.appendingPathComponent("run"))
        try TrainingRun(recipe: recipe, runDirectory: run.url).run(console: silent)
        return (recipe, run)
    }

    /// The names in the run directory, and the bytes of its recipe, metrics and newest weights.
    private func snapshot(_ run: RunDirectory) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: run.path) { files[name] = Data() }
        for url in [run.recipe, run.metrics, run.url.appendingPathComponent("checkpoints/step_000020/model.safetensors")] {
            files[url.lastPathComponent] = try Data(contentsOf: url)
        }
        return files
    }

    func testAnOverwriteThatCannotStartKeepsTheEarlierRun() throws {
        let root = try makeTemporaryDirectory()
        let (recipe, run) = try trainedRun(in: root)
        let before = try snapshot(run)

        func overwrite(_ configure: (inout TrainingRun) -> Void, failsWith expected: String, file: StaticString = #filePath,
                       line: UInt = #line) throws {
            var options = TrainingRun(recipe: recipe, runDirectory: run.url)
            options.overwrite = true
            configure(&options)
            XCTAssertThrowsError(try options.trainer(console: silent), file: file, line: line) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)", file: file, line: line)
            }
            XCTAssertEqual(try snapshot(run), before, "the earlier run is untouched", file: file, line: line)
            XCTAssertEqual(run.checkpoints.completeCheckpoints().map(\.step), [10, 20], file: file, line: line)
        }
        try overwrite({ $0.overrides = ["data.corpus=\(root.path)/corpsu"] }, failsWith: "corpsu")
        try overwrite({ $0.overrides = ["optim.learning_rate=1e-3"] }, failsWith: "learning_rate")
        try overwrite({ $0.initFrom = root.appendingPathComponent("nowhere") }, failsWith: "nowhere")
        try overwrite({ $0.overrides = ["model.d_model=32"]; $0.initFrom = run.url }, failsWith: "--overwrite replaces")
        try overwrite({ $0.initFrom = run.url.appendingPathComponent("checkpoints/step_000010") }, failsWith: "--overwrite replaces")

        // A model that does not fit the weights it starts from fails while loading them, before anything moves.
        let other = root.appendingPathComponent("other")
        try TrainingRun(recipe: recipe, runDirectory: other).run(console: silent)
        try overwrite({ $0.overrides = ["model.d_model=32"]; $0.initFrom = other }, failsWith: "does not fit")
        XCTAssertNoThrow(try loadCheckpoint(run.url))
    }

    func testTheEarlierRunIsKeptAsideUntilTheNewRunsFirstCheckpoint() throws {
        let root = try makeTemporaryDirectory()
        let (recipe, run) = try trainedRun(in: root)
        let weights = try Data(contentsOf: run.url.appendingPathComponent("checkpoints/step_000020/model.safetensors"))
        try "mine".write(to: run.url.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)

        var options = TrainingRun(recipe: recipe, runDirectory: run.url)
        options.overwrite = true
        options.overrides = ["train.steps=10", "train.seed=6"]
        let trainer = try options.trainer(console: silent).trainer
        let names = try FileManager.default.contentsOfDirectory(atPath: run.path)
        let aside = try XCTUnwrap(names.first { $0.hasPrefix(".overwritten-") }, "\(names)")
        let kept = run.url.appendingPathComponent(aside)
        XCTAssertEqual(try Data(contentsOf: kept.appendingPathComponent("checkpoints/step_000020/model.safetensors")), weights)
        XCTAssertTrue(FileManager.default.fileExists(atPath: kept.appendingPathComponent("metrics.jsonl").path))
        XCTAssertTrue(run.checkpoints.completeCheckpoints().isEmpty)
        XCTAssertEqual(try Recipe.load(run.recipe).train.seed, 6, "the new run's recipe")

        XCTAssertEqual(try trainer.run().checkpoint?.lastPathComponent, "step_000010")
        XCTAssertFalse(FileManager.default.fileExists(atPath: kept.path), "deleted after the new run's first checkpoint")
        XCTAssertEqual(run.checkpoints.completeCheckpoints().map(\.step), [10])
        XCTAssertEqual(try readMetrics(run.metrics).map(\.step), [10], "the new run's rows only (the earlier had 10 and 20)")
        XCTAssertEqual(try String(contentsOf: run.url.appendingPathComponent("notes.txt"), encoding: .utf8), "mine",
                       "what the run did not write stays")
    }
}
