import Foundation
import TextData
import Training
import TestSupport
import XCTest

/// `TrainingRun` trains as `pretrain train` does: from a recipe file and a prepared corpus, stopping and resuming
/// exactly, refusing to train over an earlier run unless told to overwrite it.
final class TrainingRunTests: XCTestCase {
    /// A prepared corpus and a 20-step recipe reading it, checkpoints every 10 steps.
    private func setUp(_ root: URL) throws -> URL {
        try TestCorpus.writePrepared(to: root.appendingPathComponent("corpus"))
        let recipe = root.appendingPathComponent("tiny.yaml")
        try """
            model: {layers: 2, d_model: 16, heads: 2, context: 8, dropout: 0.1}
            data: {corpus: \(root.path)/corpus}
            optim: {lr: 3e-3, batch_size: 4, grad_accum: 2}
            schedule: {kind: cosine, warmup: 5, min_lr: 3e-4}
            train: {steps: 20, eval_every: 10, eval_batches: 2, log_every: 1, checkpoint_every: 10, keep_last: 3, seed: 5}
            """.write(to: recipe, atomically: true, encoding: .utf8)
        return recipe
    }

    private let silent = ConsoleProgress(mode: .silent)

    func testItTrainsStopsResumesAsAnUninterruptedRunAndRefusesToTrainOverARun() throws {
        let root = try makeTemporaryDirectory()
        let recipe = try setUp(root)
        let straight = try TrainingRun(recipe: recipe, runDirectory: root.appendingPathComponent("straight")).run(console: silent)
        XCTAssertTrue(straight.summary.finished)
        XCTAssertEqual(straight.summary.step, 20)

        var first = TrainingRun(recipe: recipe, runDirectory: root.appendingPathComponent("run"))
        first.stopAfter = 10
        let stopped = try first.run(console: silent).summary
        XCTAssertFalse(stopped.finished)
        XCTAssertEqual(stopped.checkpoint?.lastPathComponent, "step_000010")

        XCTAssertThrowsError(try first.run(console: silent)) { error in
            XCTAssertTrue("\(error)".contains("already holds checkpoints"), "\(error)")
        }

        var resume = TrainingRun()
        resume.resume = root.appendingPathComponent("run")
        var lines: [String] = []
        let resumed = try resume.run(console: silent, log: { lines.append($0) })
        XCTAssertEqual(lines, [], "the stored recipe is the recipe")
        XCTAssertEqual(resumed.plan.runDirectory, RunDirectory(root.appendingPathComponent("run")))
        XCTAssertTrue(resumed.summary.finished)
        XCTAssertEqual(resumed.summary.evaluation?.loss, straight.summary.evaluation?.loss, "exact resume")
        XCTAssertEqual(try readMetrics(resumed.plan.runDirectory.metrics).map(\.loss),
                       try readMetrics(straight.plan.runDirectory.metrics).map(\.loss))

        var again = TrainingRun(recipe: recipe, runDirectory: root.appendingPathComponent("run"))
        again.overwrite = true
        again.overrides = ["train.steps=10"]
        let fresh = try again.run(console: silent)
        XCTAssertEqual(fresh.summary.step, 10)
        XCTAssertEqual(try readMetrics(fresh.plan.runDirectory.metrics).first?.step, 1, "the old metrics are gone")
        XCTAssertEqual(fresh.plan.runDirectory.checkpoints.completeCheckpoints().map(\.step), [10])
    }

    func testResumeReadsTheStoredRecipeAndNamesWhatOverridesChange() throws {
        let root = try makeTemporaryDirectory()
        let recipe = try setUp(root)
        var first = TrainingRun(recipe: recipe, runDirectory: root.appendingPathComponent("run"))
        first.stopAfter = 10
        try first.run(console: silent)

        var resume = TrainingRun()
        resume.resume = root.appendingPathComponent("run")
        resume.overrides = ["optim.clip=0.5"]
        var lines: [String] = []
        let plan = try resume.plan(log: { lines.append($0) })
        XCTAssertEqual(lines, ["resume with a changed recipe: optim.clip: 1 → 0.5"])
        XCTAssertEqual(plan.recipe.optim.clip, 0.5)
        XCTAssertEqual(plan.recipe.model.vocabSize, 64, "the vocabulary the run resolved")

        // Given the recipe file again, whose vocabulary the run resolved from its data, only the override is a change.
        resume.recipe = recipe
        lines = []
        _ = try resume.plan(log: { lines.append($0) })
        XCTAssertEqual(lines, ["resume with a changed recipe: optim.clip: 1 → 0.5"])
        guard case .resume = plan.start else { return XCTFail("\(plan.start)") }

        var initFrom = TrainingRun(recipe: recipe)
        initFrom.initFrom = root.appendingPathComponent("run")
        let initPlan = try initFrom.plan()
        XCTAssertEqual(initPlan.runDirectory, RunDirectory(defaultForRecipe: recipe))
        guard case .initFrom(let source) = initPlan.start else { return XCTFail("\(initPlan.start)") }
        XCTAssertEqual(source, root.appendingPathComponent("run"))
    }

    /// The corpus' tokenizer.json is copied into every checkpoint for generation and evaluation to read: one that
    /// does not load is refused before training, naming the file, not found later by the first command that reads it.
    func testACorpusWhoseTokenizerDoesNotLoadIsRefusedBeforeTraining() throws {
        let root = try makeTemporaryDirectory()
        let recipe = try setUp(root)
        let tokenizer = root.appendingPathComponent("corpus/tokenizer.json")
        try Data("{\"model\": {\"type\": \"BPE\", \"vocab\": ".utf8).write(to: tokenizer)
        XCTAssertThrowsError(try TrainingRun(recipe: recipe, runDirectory: root.appendingPathComponent("run")).run(console: silent)) {
            XCTAssertEqual("\($0)", "data.corpus: \(tokenizer.path): not valid JSON; prepare the corpus again or put a valid "
                + "tokenizer.json there")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("run/checkpoints").path))
        try ByteLevelBPETokenizer(vocabulary: ["a": 0, "b": 1], merges: []).save(to: tokenizer)
        var run = TrainingRun(recipe: recipe, runDirectory: root.appendingPathComponent("run"))
        run.overrides = ["train.steps=2"]
        XCTAssertEqual(try run.run(console: silent).summary.step, 2)

        // A unit LM corpus names a speech-unit vocabulary as its tokenizer; a damaged one is refused the same way.
        let manifest = root.appendingPathComponent("corpus/corpus.json")
        var fields = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: manifest)) as? [String: Any])
        fields["tokenizer"] = "speech_units.json"
        try JSONSerialization.data(withJSONObject: fields).write(to: manifest)
        let units = root.appendingPathComponent("corpus/speech_units.json")
        try Data("{\"format\": \"something else\"}".utf8).write(to: units)
        XCTAssertThrowsError(try TrainingRun(recipe: recipe, runDirectory: root.appendingPathComponent("units")).run(console: silent)) {
            XCTAssertEqual("\($0)", "data.corpus: \(units.path): not a speech-unit vocabulary (make one with pretrain tts units); "
                + "prepare the corpus again or put a valid speech_units.json there")
        }
    }

    func testContradictoryOptionsAreNamed() {
        let recipe = URL(fileURLWithPath: "tiny.yaml"), run = URL(fileURLWithPath: "run")
        XCTAssertNil(TrainingRun(recipe: recipe).problem)
        var options = TrainingRun()
        XCTAssertEqual(options.problem, "a recipe file is required (or --resume RUN_DIR)")
        options.resume = run
        options.initFrom = run
        XCTAssertEqual(options.problem, "--resume and --init-from exclude each other")
        options.initFrom = nil
        options.overwrite = true
        XCTAssertEqual(options.problem, "--overwrite starts afresh; it cannot be combined with --resume")
        options.overwrite = false
        options.runDirectory = URL(fileURLWithPath: "elsewhere")
        XCTAssertEqual(options.problem, "--resume continues in its own run directory; leave out --run-dir")
        options.runDirectory = run
        options.stopAfter = 0
        XCTAssertEqual(options.problem, "--stop-after must be ≥ 1")
        XCTAssertThrowsError(try options.plan())
    }
}
