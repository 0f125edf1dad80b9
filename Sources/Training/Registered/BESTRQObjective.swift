import Layers
import Objectives
import Tensors

extension ObjectiveKind {
    /// BEST-RQ: masked prediction of a random-projection quantiser's labels.
    public static let bestrq = ObjectiveKind(rawValue: "bestrq")
}

/// `objective.kind: bestrq` — BEST-RQ (Chiu et al. 2022): masked prediction of the labels a frozen random-projection
/// quantiser gives the unmasked input, for either audio encoder.
public enum BESTRQObjective: ObjectiveDefinition {
    public typealias Settings = BESTRQSection
    public static let kind = ObjectiveKind.bestrq
    public static let settingsKey: String? = "bestrq"
    public static let families: [ModelFlavor] = [.audioFrames, .audioPatches]

    public static func problems(_ settings: BESTRQSection, recipe: Recipe) -> [String] {
        var problems = settings.maskingProblems("objective.bestrq", flavor: recipe.model.flavor)
        if let size = settings.codebookSize, size < 2 { problems.append("objective.bestrq.codebook_size must be ≥ 2, got \(size)") }
        if let dimension = settings.codeDim, dimension < 1 { problems.append("objective.bestrq.code_dim must be ≥ 1, got \(dimension)") }
        return problems
    }

    public static func backboneOptions(_ settings: BESTRQSection, model: ModelSection) -> BackboneOptions {
        BackboneOptions(maskEmbedding: true)
    }

    public static func make(_ settings: BESTRQSection, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        guard let encoder = backbone as? AudioEncoder else { throw TrainingError("objective bestrq needs an audio encoder") }
        let tokenizer = RandomProjectionQuantizer(inputDimension: encoder.positionInputSize, codeDimension: settings.codeDim ?? 16,
                                                  codebookSize: settings.codebookSize ?? 8192, seed: settings.seed ?? 0)
        return try maskedPrediction(encoder: encoder, tokenizer: tokenizer, masking: settings.config, name: "bestrq",
                                    generator: &generator)
    }
}

/// Masked prediction of `tokenizer`'s labels by `encoder` (BEST-RQ, HuBERT and BEATs share it).
func maskedPrediction(encoder: AudioEncoder, tokenizer: AudioTokenizer, masking: MaskedPredictionConfig, name: String,
                      generator: inout RandomGenerator) throws -> MaskedPrediction {
    if let problem = masking.problem { throw TrainingError("objective.\(name): \(problem)") }
    return MaskedPrediction(model: MaskedPredictionModel(encoder: encoder, tokenizer: tokenizer, generator: &generator), config: masking)
}

/// `objective.bestrq:` — the masking and the random-projection quantiser (Chiu et al. 2022); every key optional.
public struct BESTRQSection: RecipeSection, MaskingKeys {
    public var maskProb: Float?
    public var spanLength: Int?
    public var maskRatio: Float?
    /// Codes in the codebook (the paper: 8192) and their dimension (16).
    public var codebookSize: Int?
    public var codeDim: Int?
    /// The quantiser's own seed (default 0), apart from train.seed: runs of any seed share targets.
    public var seed: UInt64?

    public init() {}

    public static let keys: [RecipeKey<BESTRQSection>] = [
        .init("mask_prob", \.maskProb), .init("span_length", \.spanLength), .init("mask_ratio", \.maskRatio),
        .init("codebook_size", \.codebookSize), .init("code_dim", \.codeDim), .init("seed", \.seed),
    ]
}

extension ObjectiveSection {
    public var bestrq: BESTRQSection? {
        get { settings(of: BESTRQObjective.self) }
        set { setSettings(newValue, of: BESTRQObjective.self) }
    }
}
