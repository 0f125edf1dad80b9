import Foundation
import Layers
import Objectives
import Tensors
import TestSupport
import Training
import XCTest

/// The trainer's contract besides exact resume: what a run directory holds, how non-finite updates are skipped
/// and counted, when training gives up, and what `--init-from` keeps and resets.
final class TrainerTests: XCTestCase {
    func testARunWritesRecipeMetricsAndCompleteCheckpoints() throws {
        let run = try makeTemporaryDirectory()
        let summary = try Trainer(recipe: tinyRecipe(steps: 30), runDirectory: run, corpus: TestCorpus.make(),
                                  console: ConsoleProgress(mode: .silent)).run()
        XCTAssertTrue(summary.finished)
        XCTAssertEqual(summary.checkpoint?.lastPathComponent, "step_000030")

        let checkpoints = run.appendingPathComponent("checkpoints")
        // keep_last 2: step 10 is gone, 20 and 30 remain; `latest` names 30.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: checkpoints.path).sorted(),
                       ["latest", "step_000020", "step_000030"])
        XCTAssertEqual(try String(contentsOf: checkpoints.appendingPathComponent("latest"), encoding: .utf8), "step_000030\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: checkpoints.appendingPathComponent("step_000030").path).sorted(),
                       ["COMPLETE", "config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json"])
        XCTAssertEqual(try Recipe.load(run.appendingPathComponent("recipe.yaml")).model.vocabSize, 64,
                       "the stored recipe is resolved (vocabulary from the corpus)")

        let rows = try readMetrics(run.appendingPathComponent("metrics.jsonl"))
        XCTAssertEqual(rows.map(\.step), Array(1...30))
        XCTAssertEqual(rows.filter(\.isEvaluation).map(\.step), [10, 20, 30])
        let last = try XCTUnwrap(rows.last)
        XCTAssertEqual(last.tokensSeen, 30 * 2 * 4 * 8)
        XCTAssertEqual(last.skippedUpdates, 0)
        XCTAssertNotNil(last.tokensPerSecond)
        XCTAssertEqual(try XCTUnwrap(last.valPerplexity), exp(try XCTUnwrap(last.valLoss)), accuracy: 1e-9)
        // TestCorpus counts 4 bytes per token: bpb = loss / (4 ln 2).
        XCTAssertEqual(try XCTUnwrap(last.valBitsPerByte), try XCTUnwrap(last.valLoss) / (4 * log(2)), accuracy: 1e-12)
        XCTAssertLessThan(try XCTUnwrap(last.loss), try XCTUnwrap(rows.first?.loss), "the model learns")
    }

    func testAFreshRunRefusesADirectoryWithCheckpoints() throws {
        let run = try makeTemporaryDirectory()
        try Trainer(recipe: tinyRecipe(steps: 10), runDirectory: run, corpus: TestCorpus.make(),
                    console: ConsoleProgress(mode: .silent)).run()
        XCTAssertThrowsError(try Trainer(recipe: tinyRecipe(steps: 10), runDirectory: run, corpus: TestCorpus.make())) {
            XCTAssertTrue("\($0)".contains("--resume"), "\($0)")
        }
    }

    func testACheckpointWithoutCompleteMarkerIsIgnoredOnResume() throws {
        let run = try makeTemporaryDirectory()
        try Trainer(recipe: tinyRecipe(steps: 20), runDirectory: run, corpus: TestCorpus.make(),
                    console: ConsoleProgress(mode: .silent)).run(stopAfter: 10)
        // A later checkpoint whose marker never made it to disk.
        let checkpoints = run.appendingPathComponent("checkpoints")
        try FileManager.default.copyItem(at: checkpoints.appendingPathComponent("step_000010"),
                                         to: checkpoints.appendingPathComponent("step_000015"))
        try FileManager.default.removeItem(at: checkpoints.appendingPathComponent("step_000015/COMPLETE"))
        let resumed = try Trainer(recipe: tinyRecipe(steps: 20), runDirectory: run, corpus: TestCorpus.make(), start: .resume,
                                  console: ConsoleProgress(mode: .silent))
        XCTAssertEqual(resumed.state.step, 10)
        XCTAssertThrowsError(try Checkpoint.resolve(checkpoints.appendingPathComponent("step_000015"))) {
            XCTAssertTrue("\($0)".contains("incomplete"), "\($0)")
        }
    }

    /// Every third micro-batch loss is NaN: those updates are skipped (weights untouched), counted in the
    /// metrics, and training goes on.
    func testNonFiniteUpdatesAreSkippedAndCounted() throws {
        let run = try makeTemporaryDirectory()
        var recipe = tinyRecipe(steps: 6)
        recipe.optim.gradAccum = 1
        PoisonedCausalLM.poisonCalls = [2, 5]
        Registry.register(PoisonedCausalLM.self)
        recipe.objective.kind = PoisonedCausalLM.kind
        let trainer = try Trainer(recipe: recipe, runDirectory: run, corpus: TestCorpus.make(),
                                  console: ConsoleProgress(mode: .silent))
        XCTAssertTrue(try trainer.run().finished)
        let rows = try readMetrics(run.appendingPathComponent("metrics.jsonl"))
        XCTAssertEqual(rows.map { $0.skippedUpdates ?? -1 }, [0, 0, 1, 1, 1, 2])
        XCTAssertNil(rows[2].loss, "a row whose only update was skipped has no training loss")
        XCTAssertEqual(trainer.optimizer.stepCount, 4)
        XCTAssertEqual(trainer.state.skippedUpdates, 2)
        XCTAssertTrue(trainer.model.parameters.allSatisfy { $0.scalars.allSatisfy(\.isFinite) })
    }

    /// Updates that keep failing stop training with a message naming the last good checkpoint, which is kept.
    func testConsecutiveNonFiniteUpdatesStopTrainingKeepingTheLastCheckpoint() throws {
        let run = try makeTemporaryDirectory()
        var recipe = tinyRecipe(steps: 40)
        recipe.optim.gradAccum = 1
        recipe.train.maxConsecutiveSkips = 3
        PoisonedCausalLM.poisonCalls = Set(12...40)
        Registry.register(PoisonedCausalLM.self)
        recipe.objective.kind = PoisonedCausalLM.kind
        let trainer = try Trainer(recipe: recipe, runDirectory: run, corpus: TestCorpus.make(),
                                  console: ConsoleProgress(mode: .silent))
        XCTAssertThrowsError(try trainer.run()) { error in
            XCTAssertTrue(error is TrainingStopped)
            let message = "\(error)"
            XCTAssertTrue(message.contains("training stopped at step 15"), message)
            XCTAssertTrue(message.contains("step_000010"), message)
        }
        XCTAssertEqual(CheckpointStore(runDirectory: run).completeCheckpoints().map(\.step), [10])
        XCTAssertEqual(try readMetrics(run.appendingPathComponent("metrics.jsonl")).last?.skippedUpdates, 3)
    }

    /// --init-from copies the weights and nothing else: step 0, a fresh optimiser, the new recipe's schedule.
    func testInitFromLoadsWeightsOnlyAndRestartsTheSchedule() throws {
        let root = try makeTemporaryDirectory()
        let source = root.appendingPathComponent("source")
        let trained = try Trainer(recipe: tinyRecipe(steps: 10), runDirectory: source, corpus: TestCorpus.make(),
                                  console: ConsoleProgress(mode: .silent))
        try trained.run()
        var continual = tinyRecipe(steps: 5)
        continual.optim.lr = 1e-3
        continual.schedule.warmup = 5
        let target = root.appendingPathComponent("continual")
        let trainer = try Trainer(recipe: continual, runDirectory: target, corpus: TestCorpus.make(), start: .initFrom(source),
                                  console: ConsoleProgress(mode: .silent))
        XCTAssertEqual(trainer.state.step, 0)
        XCTAssertEqual(trainer.optimizer.stepCount, 0)
        XCTAssertEqual(trainer.state.initializedFrom, source.appendingPathComponent("checkpoints/step_000010").path)
        for ((name, a), (_, b)) in zip(trainer.model.namedParameters(), trained.model.namedParameters()) {
            XCTAssertEqual(a.scalars, b.scalars, "\(name) is copied")
        }
        try trainer.run()
        let rows = try readMetrics(target.appendingPathComponent("metrics.jsonl"))
        XCTAssertEqual(rows.first?.step, 0, "an init-from run evaluates the weights it starts from")
        XCTAssertEqual(try XCTUnwrap(rows.first { $0.step == 1 }?.lr), 2e-4, accuracy: 1e-9, "rewarming: the new warmup starts at step 0")
    }

    func testInitFromAnotherArchitectureNamesTheMismatchedTensors() throws {
        let root = try makeTemporaryDirectory()
        let source = root.appendingPathComponent("source")
        try Trainer(recipe: tinyRecipe(steps: 10), runDirectory: source, corpus: TestCorpus.make(),
                    console: ConsoleProgress(mode: .silent)).run()
        var wider = tinyRecipe(steps: 5)
        wider.model.dModel = 24
        wider.model.layers = 3
        XCTAssertThrowsError(try Trainer(recipe: wider, runDirectory: root.appendingPathComponent("wider"),
                                         corpus: TestCorpus.make(), start: .initFrom(source))) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("d_model 16 ≠ 24"), message)
            XCTAssertTrue(message.contains("layers 2 ≠ 3"), message)
            XCTAssertTrue(message.contains("transformer.wte.weight: checkpoint [64, 16], model [64, 24]"), message)
            XCTAssertTrue(message.contains("missing: transformer.h.2."), message)
        }
    }

    func testTokensOutsideTheVocabularyAreRejected() throws {
        var recipe = tinyRecipe(steps: 5)
        recipe.model.vocabSize = 32
        XCTAssertThrowsError(try Trainer(recipe: recipe, runDirectory: try makeTemporaryDirectory(), corpus: TestCorpus.make())) {
            XCTAssertTrue("\($0)".contains("outside model.vocab_size 32"), "\($0)")
        }
    }
}

/// Causal LM whose loss is NaN on chosen calls, registered as an objective of its own (the registry is how a test,
/// like any outside code, brings an objective to the trainer).
enum PoisonedCausalLM: ObjectiveDefinition {
    typealias Settings = NoSettings
    static let kind = ObjectiveKind(rawValue: "poisoned_causal_lm")
    static let families: [ModelFlavor] = [.gpt2, .llama]
    /// The calls (0-based) of the next trainer's objective whose loss is NaN.
    nonisolated(unsafe) static var poisonCalls: Set<Int> = []

    static func make(_ settings: NoSettings, backbone: Module, context: ObjectiveContext,
                     generator: inout RandomGenerator) throws -> TrainableObjective {
        let poisoned = PoisonedObjective(poisonCalls: poisonCalls)
        poisoned.inner = CausalLanguageModeling(model: backbone as! GPTModel)
        return poisoned
    }
}

/// Causal LM whose loss is NaN on chosen calls (0-based), to exercise the skip path.
final class PoisonedObjective: PretrainingObjective {
    var inner: CausalLanguageModeling!
    let poisonCalls: Set<Int>
    private var calls = 0
    init(poisonCalls: Set<Int>) { self.poisonCalls = poisonCalls }
    var model: Module { inner.model }

    func loss(_ tokens: IntTensor, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int) {
        let result = inner.loss(tokens, generator: &generator)
        // Evaluation runs without gradients and is not poisoned.
        guard Autograd.isRecording else { return result }
        defer { calls += 1 }
        return poisonCalls.contains(calls) ? (result.loss * Float.nan, result.predicted) : result
    }
}

extension TrainerTests {
    /// A recipe built in code whose YAML form would not read back (here schedule.min_lr with a constant schedule) is
    /// refused before the run starts, so no run directory holds a recipe.yaml that resume and report cannot read.
    func testARecipeWhoseYAMLWouldNotReadBackIsRefused() throws {
        var recipe = tinyRecipe(steps: 4)
        (recipe.schedule.kind, recipe.schedule.minLR) = (.constant, 1e-4)
        let run = try makeTemporaryDirectory().appendingPathComponent("run")
        XCTAssertThrowsError(try Trainer(recipe: recipe, runDirectory: run, corpus: TestCorpus.make(), console: ConsoleProgress(mode: .silent))) {
            XCTAssertEqual("\($0)", "the recipe of \(run.path): schedule.min_lr does not apply to schedule kind 'constant' (it reads: kind, warmup)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("recipe.yaml").path))
    }
}
