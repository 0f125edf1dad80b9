import Foundation
import Layers
import Tensors
import TestSupport
import Training
import XCTest

/// What a run says at its start and at each evaluation, and Hugging Face position tables longer than the windows.
final class StartMessagesTests: XCTestCase {
    func lines(_ body: (ConsoleProgress) throws -> Void) rethrows -> [String] {
        var captured: [String] = []
        let console = ConsoleProgress(mode: .silent)
        console.onMessage = { captured.append($0) }
        try body(console)
        return captured
    }

    func testAWarmupLongerThanTheRunIsAWarning() throws {
        var recipe = tinyRecipe(steps: 4)
        recipe.schedule.warmup = 5
        XCTAssertTrue(recipe.warnings.first?.contains("schedule.warmup (5) ≥ train.steps (4)") == true)
        XCTAssertEqual(tinyRecipe(steps: 40).warnings, [])
        let printed = try lines { console in
            _ = try Trainer(recipe: recipe, runDirectory: try makeTemporaryDirectory(), corpus: TestCorpus.make(), console: console).run()
        }
        XCTAssertTrue(printed.contains { $0.contains("never reaches optim.lr") }, "\(printed)")
    }

    func testInitFromNamesItsSourceAndEvaluationsShowEveryValidationSet() throws {
        let root = try makeTemporaryDirectory()
        try Trainer(recipe: tinyRecipe(steps: 5), runDirectory: root.appendingPathComponent("a"), corpus: TestCorpus.make(),
                    console: ConsoleProgress(mode: .silent)).run()
        var corpus = TestCorpus.make()
        corpus.namedValidation = [.init(name: "upstream", shards: [TestCorpus.markovTokens(count: 400, vocabularySize: 64, seed: 9)],
                                        bytesPerToken: nil)]
        let printed = try lines { console in
            try Trainer(recipe: tinyRecipe(steps: 10), runDirectory: root.appendingPathComponent("b"), corpus: corpus,
                        start: .initFrom(root.appendingPathComponent("a")), console: console).run()
        }
        XCTAssertTrue(printed.contains { $0.hasPrefix("initialised from ") && $0.contains("step_000005") }, "\(printed)")
        XCTAssertTrue(printed.contains { $0.hasPrefix("eval step 0:") && $0.contains("│ upstream ") }, "\(printed)")
        XCTAssertTrue(printed.contains { $0.hasPrefix("eval step 10:") && $0.contains("│ upstream ") }, "\(printed)")
    }

    /// A Hugging Face GPT-2 keeps its 1024 positions while training on 128-token windows: model.max_positions.
    func testWeightsWithALongerPositionTableNeedMaxPositions() throws {
        var long = tinyRecipe(steps: 3)
        long.model.maxPositions = 32
        long.model.vocabSize = 64
        var generator = RandomGenerator(seed: 3)
        let weights = try long.model.family.makeBackbone(long.model, options: BackboneOptions(), generator: &generator).stateDict()
        XCTAssertEqual(weights["transformer.wpe.weight"]?.shape, [32, 16])
        let start = TrainingStart.initFromWeights(source: "hf-gpt2", weights: weights)
        XCTAssertThrowsError(try Trainer(recipe: tinyRecipe(steps: 3), runDirectory: try makeTemporaryDirectory(), corpus: TestCorpus.make(),
                                         start: start, console: ConsoleProgress(mode: .silent))) {
            XCTAssertTrue("\($0)".contains("they hold 32 positions, the model 8: set model.max_positions: 32"), "\($0)")
        }
        let trainer = try Trainer(recipe: long, runDirectory: try makeTemporaryDirectory(), corpus: TestCorpus.make(), start: start,
                                  console: ConsoleProgress(mode: .silent))
        XCTAssertTrue(try trainer.run().finished, "windows of model.context 8 tokens, a table of 32 positions")
        XCTAssertThrowsError(try Recipe.parse("model: {context: 64, max_positions: 32}")) {
            XCTAssertTrue("\($0)".contains("model.max_positions (32) must be at least model.context (64)"), "\($0)")
        }
        XCTAssertThrowsError(try Recipe.parse("model: {flavor: audio_frames, max_positions: 32}\nobjective: {kind: tera}\ndata: {features: f}")) {
            XCTAssertTrue("\($0)".contains("model.max_positions does not apply to model.flavor audio_frames"), "\($0)")
        }
    }
}
