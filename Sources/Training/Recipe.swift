import FileErrors
import Foundation
import Optimizers
import Tensors
import Yams

/// A training run, as written in a YAML recipe (see recipes/shakespeare-gpt.yaml for every key, commented).
///
/// Every key has a default, so a recipe names only what differs. A key the recipe types do not know is an
/// error naming it and its path (a typo must not silently fall back to a default). `--set path=value` edits
/// the YAML tree before decoding, so an override is checked exactly like the file.
public struct Recipe: RecipeSection {
    public var model = ModelSection()
    public var objective = ObjectiveSection()
    public var data = DataSection()
    public var optim = OptimSection()
    public var schedule = ScheduleSection()
    public var train = TrainSection()
    /// Data-parallel training under mpirun (ignored by a single process).
    public var distributed = DistributedSection()
    /// Static weight sparsity of the Transformer blocks' linear weights (SPDF); off unless `fraction` > 0.
    public var sparsity = SparsitySection()
    /// bert2BERT's two-stage pre-training: sub-models first, then the whole model; off unless `steps` > 0.
    public var twoStage = TwoStageSection()
    /// Number format of matrix products: fp32, bf16 (mixed precision: bf16 operands, fp32 weights, optimiser state
    /// and reductions; falls back to fp32 on CPUs without bf16 instructions) or bf16-emulated (bf16 rounding in
    /// software, any CPU).
    public var precision = MatmulPrecision.fp32

    public init() {}

    public static let keys: [RecipeKey<Recipe>] = [
        .init("model", \.model), .init("objective", \.objective), .init("data", \.data), .init("optim", \.optim),
        .init("schedule", \.schedule), .init("train", \.train), .init("distributed", \.distributed),
        .init("sparsity", \.sparsity), .init("two_stage", \.twoStage), .init("precision", choice: \.precision),
    ]
}

// MARK: - Loading, overrides, validation

public struct RecipeError: Error, CustomStringConvertible {
    public let message: String
    /// The recipe path of the one key to blame ("optim.lr"), so that parsing can say where that key is written.
    public let keyPath: String?
    public init(_ message: String, keyPath: String? = nil) { (self.message, self.keyPath) = (message, keyPath) }
    public var description: String { message }
}

extension Recipe {
    /// Parses a recipe, applying `overrides` ("optim.lr=3e-4", "train.steps=200") to the YAML tree first.
    /// `source` names the text in error messages.
    public static func parse(_ yaml: String, overrides: [String] = [], source: String = "recipe") throws -> Recipe {
        try decode(RecipeYAML.compose(yaml, source: source), overrides: overrides, source: source)
    }

    /// Reads and parses a recipe file.
    public static func load(_ url: URL, overrides: [String] = []) throws -> Recipe {
        try parse(RecipeYAML.read(url), overrides: overrides, source: url.path)
    }

    /// The recipe of a composed YAML tree (`file`) with `overrides` applied. An error that one key causes names
    /// where that key comes from: the `--set` that wrote it, or the file's line and column.
    static func decode(_ file: Node, overrides: [String], source: String) throws -> Recipe {
        let root = try applying(overrides, to: file)
        let text: String
        do { text = try Yams.serialize(node: root) } catch { throw RecipeError("\(source): \(error)") }
        let recipe: Recipe
        do {
            recipe = try YAMLDecoder().decode(Recipe.self, from: text)
        } catch {
            throw RecipeError(blaming: error, file: file, overrides: overrides, source: source)
        }
        try recipe.validate(source: source)
        return recipe
    }

    /// The resolved recipe as YAML (every key, defaults filled in): what RUN/recipe.yaml holds.
    public func yaml() throws -> String {
        try YAMLEncoder().encode(self)
    }

    /// Checks values that decode but cannot run.
    public func validate(source: String = "recipe") throws {
        var problems: [String] = []
        func require(_ condition: Bool, _ message: @autoclosure () -> String) { if !condition { problems.append(message()) } }
        let (family, definition): (any ModelFamily.Type, any ObjectiveDefinition.Type)
        do {
            (family, definition) = (try model.family, try objective.kind.definition)
        } catch let error as RecipeError {
            throw RecipeError("\(source): \(error.message)")
        }
        problems += model.commonProblems()
        problems += modelAndDataProblems(family)
        if objective.kind.fits(model.flavor) {
            problems += definition.recipeProblems(self)
        } else {
            problems.append(objective.misfit(model.flavor))
        }
        require(optim.lr > 0, "optim.lr must be > 0, got \(optim.lr)")
        require(optim.betas.count == 2 && optim.betas.allSatisfy { $0 >= 0 && $0 < 1 },
                "optim.betas must be two numbers in [0, 1), got \(optim.betas)")
        require(optim.eps > 0, "optim.eps must be > 0")
        require(optim.weightDecay >= 0, "optim.weight_decay must be ≥ 0")
        require(optim.clip >= 0, "optim.clip must be ≥ 0 (0: no clipping)")
        require(optim.batchSize >= 1, "optim.batch_size must be ≥ 1, got \(optim.batchSize)")
        require(optim.gradAccum >= 1, "optim.grad_accum must be ≥ 1, got \(optim.gradAccum)")
        require(train.steps >= 1, "train.steps must be ≥ 1, got \(train.steps)")
        require(train.evalEvery >= 0 && train.evalBatches >= 0 && train.checkpointEvery >= 0,
                "train.eval_every, eval_batches and checkpoint_every must be ≥ 0")
        require(train.logEvery >= 1, "train.log_every must be ≥ 1")
        require(train.keepLast >= 1, "train.keep_last must be ≥ 1")
        require(train.threads.map { $0 >= 1 } ?? true, "train.threads must be ≥ 1")
        require(train.maxConsecutiveSkips >= 1, "train.max_consecutive_skips must be ≥ 1")
        require(distributed.timeoutSeconds >= 1, "distributed.timeout_seconds must be ≥ 1, got \(distributed.timeoutSeconds)")
        require(distributed.bucketMB >= 1 && distributed.bucketMB <= 4096, "distributed.bucket_mb must be in 1...4096, got \(distributed.bucketMB)")
        problems += sparsity.problems()
        problems += twoStage.problems(layers: model.layers)
        if family.dataForm.isText { problems += data.mixtureProblems() }
        if problems.isEmpty { _ = try schedule.resolved(peakLR: optim.lr, steps: train.steps) }
        guard problems.isEmpty else { throw RecipeError("\(source): " + problems.joined(separator: "; ")) }
    }

    /// Problems of the model family's keys and values and of the data keys its data form reads.
    func modelAndDataProblems(_ family: any ModelFamily.Type) -> [String] {
        model.strayKeys(of: family) + family.problems(model) + data.strayKeys(for: family.dataForm, flavor: model.flavor)
            + family.dataForm.problems(data)
    }

    /// The learning-rate schedule this recipe describes.
    public func learningRateSchedule() throws -> LearningRateSchedule {
        try schedule.resolved(peakLR: optim.lr, steps: train.steps)
    }
}
