import FileErrors
import Foundation
import Yams

/// `beats:` of a BEATs loop recipe (recipes/beats-small.yaml): what differs between the loop's stages. The rest
/// of the file is a normal recipe for the SSL models (audio_patches, objective.kind bestrq: iteration 1).
public struct BEATsLoopSection: RecipeSection {
    /// Steps of every SSL pre-training and every tokenizer training; nil: the recipe's train.steps.
    public var sslSteps: Int?
    public var tokenizerSteps: Int?
    /// The tokenizer's encoder layers (its width, heads and patches are the model's); nil: model.layers.
    public var tokenizerLayers: Int?
    /// The tokenizer's peak learning rate; nil: optim.lr.
    public var tokenizerLR: Float?
    /// objective.beats_tokenizer keys (nil: its defaults) and objective.beats.mask_ratio (nil: 0.75).
    public var codebookSize: Int?
    public var codeDim: Int?
    public var decoderLayers: Int?
    public var emaDecay: Float?
    public var normalizeTargets: Bool?
    public var maskRatio: Float?

    public init() {}

    public static let keys: [RecipeKey<BEATsLoopSection>] = [
        .init("ssl_steps", \.sslSteps), .init("tokenizer_steps", \.tokenizerSteps), .init("tokenizer_layers", \.tokenizerLayers),
        .init("tokenizer_lr", \.tokenizerLR), .init("codebook_size", \.codebookSize), .init("code_dim", \.codeDim),
        .init("decoder_layers", \.decoderLayers), .init("ema_decay", \.emaDecay), .init("normalize_targets", \.normalizeTargets),
        .init("mask_ratio", \.maskRatio),
    ]
}

/// BEATs' iterative pre-training (Chen et al. 2022 §2.1, Fig. 1): iteration 1 pre-trains an SSL model on the
/// labels of a random-projection tokenizer; iteration i ≥ 2 trains an acoustic tokenizer by distillation from SSL
/// model i − 1, then pre-trains SSL model i on that tokenizer's labels. Every stage is a normal run directory
/// under the root: iter1/ssl, iter2/tokenizer, iter2/ssl, …
public struct BEATsLoop {
    public typealias Stage = TrainingStage

    public let base: Recipe
    public let loop: BEATsLoopSection
    public let root: URL

    /// base: iteration 1's recipe (audio_patches, objective.kind bestrq).
    public init(base: Recipe, loop: BEATsLoopSection, root: URL) throws {
        guard base.model.flavor == .audioPatches, base.objective.kind == .bestrq else {
            throw TrainingError("a BEATs loop recipe describes iteration 1: model.flavor audio_patches and objective.kind bestrq "
                + "(got \(base.model.flavor.rawValue) and \(base.objective.kind.rawValue))")
        }
        for (key, value) in [("ssl_steps", loop.sslSteps), ("tokenizer_steps", loop.tokenizerSteps), ("tokenizer_layers", loop.tokenizerLayers)] {
            if let value, value < 1 { throw TrainingError("beats.\(key) must be ≥ 1, got \(value)") }
        }
        if let lr = loop.tokenizerLR, !(lr > 0) { throw TrainingError("beats.tokenizer_lr must be > 0, got \(lr)") }
        self.base = base
        self.loop = loop
        self.root = root
    }

    /// Reads a loop recipe: a recipe with a `beats:` section; `overrides` (--set path=value) apply to either part.
    public static func load(_ url: URL, root: URL, overrides: [String] = []) throws -> BEATsLoop {
        let parsed = try RecipeYAML.compose(RecipeYAML.read(url), source: url.path)
        let isLoopKey = { (override: String) in override.hasPrefix("beats.") || override.hasPrefix("beats=") }
        let loopOverrides = overrides.filter(isLoopKey)
        let mapping = try Recipe.applying(loopOverrides, to: parsed).mapping!
        let rest = Node.Mapping(mapping.filter { $0.key.string != "beats" })
        var loop = BEATsLoopSection()
        if let section = mapping["beats"] {
            do {
                let text = try Yams.serialize(node: .mapping(.init([(Node("beats"), section)])))
                loop = try YAMLDecoder().decode(LoopSectionOnly.self, from: text).beats
            } catch {
                throw RecipeError(blaming: error, file: parsed, overrides: loopOverrides, source: url.path)
            }
        }
        let base = try Recipe.decode(.mapping(rest), overrides: overrides.filter { !isLoopKey($0) }, source: url.path)
        return try BEATsLoop(base: base, loop: loop, root: root)
    }

    /// The stages of `iterations` iterations, in order.
    public func stages(iterations: Int) -> [Stage] {
        var stages: [Stage] = []
        for iteration in 1...max(1, iterations) {
            var ssl = base
            ssl.train.steps = loop.sslSteps ?? base.train.steps
            if iteration >= 2 {
                var tokenizer = base
                tokenizer.model.layers = loop.tokenizerLayers ?? base.model.layers
                tokenizer.train.steps = loop.tokenizerSteps ?? base.train.steps
                if let lr = loop.tokenizerLR { tokenizer.optim.lr = lr }
                var section = BEATsTokenizerSection()
                section.teacher = root.appendingPathComponent(RunDirectory.beatsStagePath(iteration: iteration - 1, .ssl)).path
                (section.codebookSize, section.codeDim) = (loop.codebookSize, loop.codeDim)
                (section.decoderLayers, section.emaDecay) = (loop.decoderLayers, loop.emaDecay)
                section.normalizeTargets = loop.normalizeTargets
                tokenizer.objective = ObjectiveSection()
                tokenizer.objective.kind = .beatsTokenizer
                tokenizer.objective.beatsTokenizer = section
                let tokenizerStage = RunDirectory.beatsStagePath(iteration: iteration, .tokenizer)
                let tokenizerDirectory = root.appendingPathComponent(tokenizerStage)
                stages.append(Stage(name: tokenizerStage, recipe: tokenizer, directory: tokenizerDirectory))

                var labels = BEATsSection()
                labels.tokenizer = tokenizerDirectory.path
                labels.maskRatio = loop.maskRatio
                ssl.objective = ObjectiveSection()
                ssl.objective.kind = .beats
                ssl.objective.beats = labels
            }
            let sslStage = RunDirectory.beatsStagePath(iteration: iteration, .ssl)
            stages.append(Stage(name: sslStage, recipe: ssl, directory: root.appendingPathComponent(sslStage)))
        }
        return stages
    }

    /// Runs every unfinished stage in order (resuming an interrupted one; `runStages`) and returns the stages.
    @discardableResult
    public func run(iterations: Int, console: @autoclosure () -> ConsoleProgress = ConsoleProgress(),
                    shouldStop: @escaping () -> Bool = { false },
                    log: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }) throws -> [Stage] {
        let stages = stages(iterations: iterations)
        try runStages(stages, console: console(), shouldStop: shouldStop, log: log)
        return stages
    }
}

/// The `beats:` section under its own name, so that its errors name `beats.<key>` and where it is written.
private struct LoopSectionOnly: RecipeSection {
    var beats = BEATsLoopSection()
    static let keys: [RecipeKey<LoopSectionOnly>] = [.init("beats", \.beats)]
}
