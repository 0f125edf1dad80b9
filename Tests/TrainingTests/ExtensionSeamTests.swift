import Foundation
import Layers
import Objectives
import Tensors
import Training
import TestSupport
import XCTest

// The proof of the seam: a model family and an objective that the toolkit has never heard of, registered from
// outside the Training module (this file, and nothing else, adds them), trained, checkpointed, resumed exactly
// and loaded back through the same entry points as the built-in ones.

/// A toy model: each token's embedding, one hidden layer, two logits.
final class ParityModel: Module {
    @Key var embedding: Embedding
    @Key var hidden: Linear
    @Key var output: Linear

    init(vocabularySize: Int, width: Int, generator: inout RandomGenerator) {
        _embedding = Key(wrappedValue: Embedding(vocabularySize, width, generator: &generator), "embedding")
        _hidden = Key(wrappedValue: Linear(width, width, generator: &generator), "hidden")
        _output = Key(wrappedValue: Linear(width, 2, generator: &generator), "output")
        super.init()
    }

    /// tokens: (B, T) → logits (B, T, 2).
    func callAsFunction(_ tokens: IntTensor) -> Tensor { output(gelu(hidden(embedding(tokens)), approximate: .none)) }
}

extension ModelFlavor { static let parityToy = ModelFlavor(rawValue: "parity_toy") }
extension ObjectiveKind { static let nextTokenParity = ObjectiveKind(rawValue: "next_token_parity") }

/// `model.flavor: parity_toy` on token windows.
enum ParityToyFamily: ModelFamily {
    static let flavor = ModelFlavor.parityToy
    static let dataForm: any DataForm.Type = TokenWindows.self
    static let keys: Set<String> = ["vocab_size"]

    static func makeBackbone(_ model: ModelSection, options: BackboneOptions, generator: inout RandomGenerator) throws -> Module {
        ParityModel(vocabularySize: model.vocabSize ?? 0, width: model.dModel, generator: &generator)
    }
}

/// `objective.kind: next_token_parity`: each position predicts whether the next token's id is odd.
enum NextTokenParity: ObjectiveDefinition {
    static let kind = ObjectiveKind.nextTokenParity
    static let settingsKey: String? = "parity"
    static let families: [ModelFlavor] = [.parityToy]

    /// `objective.parity:` — label smoothing of the two-class loss.
    struct Settings: RecipeSection {
        var labelSmoothing: Float = 0
        static let keys: [RecipeKey<Settings>] = [.init("label_smoothing", \.labelSmoothing)]
    }

    static func problems(_ settings: Settings, recipe: Recipe) -> [String] {
        (0..<1).contains(settings.labelSmoothing) ? [] : ["objective.parity.label_smoothing must be in [0, 1)"]
    }

    static func make(_ settings: Settings, backbone: Module, context: ObjectiveContext,
                     generator: inout RandomGenerator) throws -> TrainableObjective {
        ParityObjective(model: backbone as! ParityModel, labelSmoothing: settings.labelSmoothing)
    }
}

final class ParityObjective: PretrainingObjective {
    let parity: ParityModel
    let labelSmoothing: Float
    var model: Module { parity }
    init(model: ParityModel, labelSmoothing: Float) { (parity, self.labelSmoothing) = (model, labelSmoothing) }

    func loss(_ tokens: IntTensor, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int) {
        let width = tokens.shape[1]
        let inputs = tokens.columns(0..<(width - 1))
        let next = tokens.columns(1..<width)
        let targets = IntTensor(next.values.map { $0 % 2 }, shape: next.shape)
        return (crossEntropy(parity(inputs), targets: targets, labelSmoothing: labelSmoothing), targets.count)
    }
}

final class ExtensionSeamTests: XCTestCase {
    override func setUp() {
        Registry.register(ParityToyFamily.self)
        Registry.register(NextTokenParity.self)
    }

    /// A recipe file of the toy over a prepared corpus on disk, as a user would write it.
    func writeRecipe(in root: URL) throws -> URL {
        try TestCorpus.writePrepared(to: root.appendingPathComponent("corpus"))
        let recipe = root.appendingPathComponent("parity.yaml")
        try """
            model: {flavor: parity_toy, d_model: 8, context: 8}
            objective: {kind: next_token_parity, parity: {label_smoothing: 0.05}}
            data: {corpus: \(root.path)/corpus}
            optim: {batch_size: 4, lr: 0.01}
            train: {steps: 12, eval_every: 5, eval_batches: 2, log_every: 1, checkpoint_every: 0}
            """.write(to: recipe, atomically: true, encoding: .utf8)
        return recipe
    }

    /// Through `TrainingRun`, the library call behind `pretrain train`: train, stop, resume, load.
    func testAnOutsideFamilyAndObjectiveTrainResumeExactlyAndLoad() throws {
        let root = try makeTemporaryDirectory()
        let recipe = try writeRecipe(in: root)
        let silent = ConsoleProgress(mode: .silent)
        let straight = try TrainingRun(recipe: recipe, runDirectory: root.appendingPathComponent("straight")).run(console: silent)
        XCTAssertTrue(straight.summary.finished)
        let losses = try readMetrics(straight.plan.runDirectory.metrics).compactMap(\.valLoss)
        XCTAssertLessThan(try XCTUnwrap(losses.last), log(2), "the toy learns something (chance is ln 2)")

        var first = TrainingRun(recipe: recipe, runDirectory: root.appendingPathComponent("interrupted"))
        first.stopAfter = 5
        XCTAssertFalse(try first.run(console: silent).summary.finished)
        var resume = TrainingRun()
        resume.resume = root.appendingPathComponent("interrupted")
        let resumed = try resume.run(console: silent)
        XCTAssertTrue(resumed.summary.finished)
        XCTAssertEqual(resumed.summary.evaluation?.loss, straight.summary.evaluation?.loss, "exact resume")

        let loadedStraight = try loadCheckpoint(straight.plan.runDirectory.url)
        let loaded = try loadCheckpoint(resumed.plan.runDirectory.url)
        XCTAssertTrue(loaded.model is ParityModel)
        XCTAssertEqual(loaded.config.objective.kind, .nextTokenParity)
        XCTAssertEqual(loaded.config.objective.settings(of: NextTokenParity.self)?.labelSmoothing, 0.05)
        for (a, b) in zip(loadedStraight.model.namedParameters(), loaded.model.namedParameters()) {
            XCTAssertEqual(a.name, b.name)
            XCTAssertEqual(a.tensor.scalars, b.tensor.scalars, "\(a.name): resumed bit for bit")
        }
        XCTAssertTrue(try loaded.objective() is ParityObjective)
    }

    func testOutsideSettingsAreTypedAndValidated() throws {
        XCTAssertThrowsError(try Recipe.parse("model: {flavor: parity_toy}\nobjective: {kind: next_token_parity, parity: {label_smoothing: 2}}")) {
            XCTAssertTrue("\($0)".contains("objective.parity.label_smoothing must be in [0, 1)"), "\($0)")
        }
        XCTAssertThrowsError(try Recipe.parse("model: {flavor: gpt2}\nobjective: {kind: next_token_parity}")) {
            XCTAssertTrue("\($0)".contains("next_token_parity needs parity_toy"), "\($0)")
        }
        XCTAssertThrowsError(try Recipe.parse("model: {flavor: parity_toy}\nobjective: {kind: next_token_parity, parity: {smoothing: 1}}")) {
            XCTAssertTrue("\($0)".contains("unknown key 'objective.parity.smoothing'"), "\($0)")
        }
        XCTAssertThrowsError(try Recipe.parse("model: {flavor: parity_toi}")) {
            XCTAssertTrue("\($0)".contains("model.flavor must be one of") && "\($0)".contains("parity_toy"), "\($0)")
        }
    }
}
