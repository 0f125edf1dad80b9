import Foundation
import Layers
import Objectives
import Tensors

/// An objective as a recipe names it: its `objective.kind`, its typed settings under `objective.<settingsKey>`,
/// the model families it trains and how it wraps a backbone. One file per objective
/// (Sources/Training/Registered/) conforms and is registered; the algorithm itself lives in the Objectives module.
public protocol ObjectiveDefinition {
    associatedtype Settings: RecipeSection
    static var kind: ObjectiveKind { get }
    /// The key under `objective:` that holds `Settings`; nil when the objective has none.
    static var settingsKey: String? { get }
    /// The model flavors it can train.
    static var families: [ModelFlavor] { get }
    /// Whether its settings at their defaults are accepted (and dropped) under another objective.kind; true only
    /// for masked_lm's `masking`, which every run directory written before the registries carries.
    static var defaultSettingsAcceptedElsewhere: Bool { get }
    /// Settings keys of other objectives that this one reads too (distill reads masked_lm's `masking` for a BERT
    /// student); a recipe of this kind may set them.
    static var borrowedSettingsKeys: Set<String> { get }
    /// Name prefixes of parameters that exist only to train (distillation's projections): a checkpoint loaded for
    /// use (`loadCheckpoint`, `--init-from`) drops them.
    static var trainingOnlyPrefixes: [String] { get }
    /// Problems of the settings in this recipe, each naming its key ("objective.tera.span_length must be ≥ 1").
    static func problems(_ settings: Settings, recipe: Recipe) -> [String]
    /// Pins what the settings point to before a run starts, so that the resolved recipe.yaml (and so a resume) reads
    /// the same files: distill resolves a teacher's run directory to its newest checkpoint.
    static func resolve(_ settings: inout Settings) throws
    /// What the backbone needs for this objective.
    static func backboneOptions(_ settings: Settings, model: ModelSection) -> BackboneOptions
    /// The objective around `backbone` (freshly initialised, or about to receive a checkpoint's weights when
    /// `context.checkpointWeights` is set). Heads draw from `generator` after the backbone.
    static func make(_ settings: Settings, backbone: Module, context: ObjectiveContext,
                     generator: inout RandomGenerator) throws -> TrainableObjective
}

extension ObjectiveDefinition {
    public static var settingsKey: String? { nil }
    public static var defaultSettingsAcceptedElsewhere: Bool { false }
    public static var borrowedSettingsKeys: Set<String> { [] }
    public static var trainingOnlyPrefixes: [String] { [] }
    public static func resolve(_ settings: inout Settings) throws {}
    public static func problems(_ settings: Settings, recipe: Recipe) -> [String] { [] }
    public static func backboneOptions(_ settings: Settings, model: ModelSection) -> BackboneOptions { BackboneOptions() }

    /// The recipe's settings of this objective, or the defaults.
    public static func settings(in objective: ObjectiveSection) -> Settings { objective.settings(of: Self.self) ?? Settings() }

    static var defaultSettings: any RecipeSection { Settings() }
    static func decodeSettings(_ decoder: Decoder) throws -> any RecipeSection { try Settings(from: decoder) }
    static func recipeProblems(_ recipe: Recipe) -> [String] { problems(settings(in: recipe.objective), recipe: recipe) }
    static func options(_ objective: ObjectiveSection, model: ModelSection) -> BackboneOptions {
        backboneOptions(settings(in: objective), model: model)
    }
    static func resolve(_ objective: inout ObjectiveSection) throws {
        guard let original = objective.settings(of: Self.self) else { return }
        var resolved = original
        try resolve(&resolved)
        if resolved != original { objective.setSettings(resolved, of: Self.self) }
    }
    static func make(_ objective: ObjectiveSection, backbone: Module, context: ObjectiveContext,
                     generator: inout RandomGenerator) throws -> TrainableObjective {
        var context = context
        context.objective = objective
        return try make(settings(in: objective), backbone: backbone, context: context, generator: &generator)
    }
}

extension ObjectiveSection {
    /// The section with what its settings point to pinned (`ObjectiveDefinition.resolve`).
    public mutating func resolveReferences() throws { try kind.definition.resolve(&self) }
}

/// An objective without settings.
public struct NoSettings: RecipeSection {
    public init() {}
    public static let keys: [RecipeKey<NoSettings>] = []
}

/// What an objective's factory may need besides its settings.
public struct ObjectiveContext {
    /// The resolved model section (vocabulary and feature dimension filled in).
    public var model: ModelSection
    /// The corpus' tokenizer.json (masked LM reads its [MASK] token), when there is one.
    public var tokenizerURL: URL?
    /// When rebuilding a checkpoint's model: its weights file, for heads whose shapes come from the checkpoint
    /// (HuBERT's centroids, BEATs' tokenizer) instead of from files the recipe names.
    public var checkpointWeights: URL?
    /// Built for a training run (a distillation teacher is loaded), not to evaluate or use a checkpoint.
    public var training: Bool
    /// The whole objective section (filled in by the registry: an objective may read borrowed settings from it).
    public var objective: ObjectiveSection?

    public init(model: ModelSection, tokenizerURL: URL? = nil, checkpointWeights: URL? = nil, training: Bool = false) {
        self.model = model
        self.training = training
        self.tokenizerURL = tokenizerURL
        self.checkpointWeights = checkpointWeights
    }
}

/// A model and its objective, built from a (resolved) model section and objective section through the registries:
/// the family's backbone first, then the objective's heads, both from `generator`.
public func makeModelAndObjective(model: ModelSection, objective: ObjectiveSection, context: ObjectiveContext,
                                  generator: inout RandomGenerator) throws -> TrainableObjective {
    let definition = try objective.kind.definition
    guard definition.families.contains(model.flavor) else { throw RecipeError(objective.misfit(model.flavor)) }
    let backbone = try model.family.makeBackbone(model, options: definition.options(objective, model: model), generator: &generator)
    return try definition.make(objective, backbone: backbone, context: context, generator: &generator)
}
