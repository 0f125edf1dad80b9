import Foundation
import TestSupport
import Training
import XCTest

/// A resume changes the run only once it really trains: one that fails keeps recipe.yaml byte for byte, and one of
/// a finished run says so and writes nothing (no TensorBoard file, no recipe).
final class ResumeSafetyTests: XCTestCase {
    private let silent = ConsoleProgress(mode: .silent)

    override func tearDown() {
        PoisonedCausalLM.poisonCalls = []
        super.tearDown()
    }

    func testAResumeThatFailsLeavesTheStoredRecipeAsItWas() throws {
        let run = try makeTemporaryDirectory()
        var recipe = tinyRecipe(steps: 40)
        recipe.optim.gradAccum = 1
        recipe.train.maxConsecutiveSkips = 3
        Registry.register(PoisonedCausalLM.self)
        recipe.objective.kind = PoisonedCausalLM.kind
        PoisonedCausalLM.poisonCalls = []
        try Trainer(recipe: recipe, runDirectory: run, corpus: TestCorpus.make(), console: silent).run(stopAfter: 10)
        let stored = try Data(contentsOf: run.appendingPathComponent("recipe.yaml"))

        // Every update of the resumed run fails: it stops before its first checkpoint.
        PoisonedCausalLM.poisonCalls = Set(0..<1000)
        var changed = recipe
        changed.optim.lr = 1e6
        let resumed = try Trainer(recipe: changed, runDirectory: run, corpus: TestCorpus.make(), start: .resume, console: silent)
        XCTAssertThrowsError(try resumed.run()) { XCTAssertTrue($0 is TrainingStopped, "\($0)") }
        XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent("recipe.yaml")), stored)

        // A run cannot be resumed to fewer steps than it has made.
        var shorter = recipe
        shorter.train.steps = 8
        XCTAssertThrowsError(try Trainer(recipe: shorter, runDirectory: run, corpus: TestCorpus.make(), start: .resume,
                                         console: silent)) { error in
            XCTAssertTrue("\(error)".contains("is at step 10, past train.steps 8"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent("recipe.yaml")), stored)

        // A resume that writes a checkpoint stores the recipe it trained with.
        PoisonedCausalLM.poisonCalls = []
        var clipped = recipe
        clipped.optim.clip = 0.5
        try Trainer(recipe: clipped, runDirectory: run, corpus: TestCorpus.make(), start: .resume, console: silent).run(stopAfter: 11)
        XCTAssertEqual(try Recipe.load(run.appendingPathComponent("recipe.yaml")).optim.clip, 0.5)
    }

    private func eventFiles(_ run: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: run.path).filter(RunDirectory.isEventsFile).sorted()
    }

    func testResumingAFinishedRunWritesNothing() throws {
        let run = try makeTemporaryDirectory()
        try Trainer(recipe: tinyRecipe(steps: 10), runDirectory: run, corpus: TestCorpus.make(), console: silent).run()
        let events = try eventFiles(run)
        XCTAssertEqual(events.count, 1)
        let recipe = try Data(contentsOf: run.appendingPathComponent("recipe.yaml"))
        var longerEval = tinyRecipe(steps: 10)
        longerEval.train.evalBatches = 3
        let summary = try Trainer(recipe: longerEval, runDirectory: run, corpus: TestCorpus.make(), start: .resume,
                                  console: silent).run()
        XCTAssertTrue(summary.finished)
        XCTAssertNil(summary.checkpoint)
        XCTAssertEqual(try eventFiles(run), events, "no new TensorBoard file")
        XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent("recipe.yaml")), recipe)
    }

    func testTheCommandLineSaysAFinishedRunIsFinishedAndHowToExtendIt() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writeTinyRecipe(in: root, layers: 2, optim: "{lr: 3e-3, batch_size: 4}",
                                      train: "{steps: 10, eval_every: 10, eval_batches: 2, checkpoint_every: 10, seed: 5}")
        XCTAssertEqual(try runPretrain(["train", "tiny.yaml", "--run-dir", "run"], in: root).status, 0)
        let run = root.appendingPathComponent("run")
        let events = try eventFiles(run)
        let result = try runPretrain(["train", "--resume", "run"], in: root)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("\(run.path) finished at 10/10; extend it with --resume \(run.path) --set train.steps=N"),
                      result.output)
        XCTAssertEqual(try eventFiles(run), events)

        let extended = try runPretrain(["train", "--resume", "run", "--set", "train.steps=12"], in: root)
        XCTAssertEqual(extended.status, 0, extended.output)
        XCTAssertTrue(extended.output.contains("resuming \(run.path) at step 10 of 12"), extended.output)
        XCTAssertEqual(try Recipe.load(run.appendingPathComponent("recipe.yaml")).train.steps, 12)
    }
}
