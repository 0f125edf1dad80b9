import Layers
import Objectives
import Tensors

extension ObjectiveKind {
    /// wav2vec 2.0: contrastive loss against Gumbel-quantised latents.
    public static let wav2vec2 = ObjectiveKind(rawValue: "wav2vec2")
}

/// `objective.kind: wav2vec2` — wav2vec 2.0 (Baevski et al. 2020): masked spans of latent frames, a contrastive loss
/// against Gumbel-quantised targets and distractors, codebook diversity; over the raw waveform (audio_waveform) or
/// over fbank frames (audio_frames, whose stacked frames the quantiser reads).
public enum Wav2Vec2Objective: ObjectiveDefinition {
    public typealias Settings = Wav2Vec2Section
    public static let kind = ObjectiveKind.wav2vec2
    public static let settingsKey: String? = "wav2vec2"
    public static let families: [ModelFlavor] = [.audioWaveform, .audioFrames]

    public static func problems(_ settings: Wav2Vec2Section, recipe: Recipe) -> [String] {
        var problems = settings.config.problem.map { ["objective.wav2vec2: \($0)"] } ?? []
        if recipe.model.flavor == .audioFrames, let weight = settings.featurePenaltyWeight, weight > 0 {
            problems.append("objective.wav2vec2.feature_penalty_weight applies to audio_waveform only (over audio_frames no "
                + "feature encoder comes before the quantiser); got \(weight)")
        }
        return problems
    }

    public static func backboneOptions(_ settings: Wav2Vec2Section, model: ModelSection) -> BackboneOptions {
        BackboneOptions(maskEmbedding: true)
    }

    public static func make(_ settings: Wav2Vec2Section, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        let config = settings.config
        if let problem = config.problem { throw TrainingError("objective.wav2vec2: \(problem)") }
        if let waveform = backbone as? Wav2Vec2Model {
            return Wav2Vec2(model: Wav2Vec2ForPreTraining(encoder: waveform, config: config, generator: &generator), config: config)
        }
        guard let frames = backbone as? AudioFrameEncoder else {
            throw TrainingError("objective wav2vec2 needs the waveform model or a frame encoder")
        }
        return Wav2Vec2(model: Wav2Vec2FramesForPreTraining(encoder: frames, config: config, generator: &generator), config: config)
    }
}

/// `objective.wav2vec2:` — masking, quantiser and loss weights of wav2vec 2.0 (see Wav2Vec2Config); every key
/// optional.
public struct Wav2Vec2Section: RecipeSection {
    public var maskProb: Float?
    public var spanLength: Int?
    public var numNegatives: Int?
    public var crossSampleNegatives: Int?
    public var contrastiveTemperature: Float?
    public var codebookGroups: Int?
    public var codebookEntries: Int?
    public var codevectorDim: Int?
    public var projDim: Int?
    public var diversityWeight: Float?
    public var featurePenaltyWeight: Float?
    public var maxTemperature: Float?
    public var minTemperature: Float?
    public var temperatureDecay: Double?

    public init() {}

    public static let keys: [RecipeKey<Wav2Vec2Section>] = [
        .init("mask_prob", \.maskProb), .init("span_length", \.spanLength), .init("num_negatives", \.numNegatives),
        .init("cross_sample_negatives", \.crossSampleNegatives), .init("contrastive_temperature", \.contrastiveTemperature),
        .init("codebook_groups", \.codebookGroups), .init("codebook_entries", \.codebookEntries),
        .init("codevector_dim", \.codevectorDim), .init("proj_dim", \.projDim), .init("diversity_weight", \.diversityWeight),
        .init("feature_penalty_weight", \.featurePenaltyWeight), .init("max_temperature", \.maxTemperature),
        .init("min_temperature", \.minTemperature), .init("temperature_decay", \.temperatureDecay),
    ]

    public var config: Wav2Vec2Config {
        var config = Wav2Vec2Config()
        if let maskProb { config.maskProbability = maskProb }
        if let spanLength { config.spanLength = spanLength }
        if let numNegatives { config.negatives = numNegatives }
        if let crossSampleNegatives { config.crossSampleNegatives = crossSampleNegatives }
        if let contrastiveTemperature { config.contrastiveTemperature = contrastiveTemperature }
        if let codebookGroups { config.codebookGroups = codebookGroups }
        if let codebookEntries { config.codebookEntries = codebookEntries }
        if let codevectorDim { config.codevectorDimension = codevectorDim }
        if let projDim { config.projectionDimension = projDim }
        if let diversityWeight { config.diversityWeight = diversityWeight }
        if let featurePenaltyWeight { config.featurePenaltyWeight = featurePenaltyWeight }
        if let maxTemperature { config.maxTemperature = maxTemperature }
        if let minTemperature { config.minTemperature = minTemperature }
        if let temperatureDecay { config.temperatureDecay = temperatureDecay }
        return config
    }
}

extension ObjectiveSection {
    public var wav2vec2: Wav2Vec2Section? {
        get { settings(of: Wav2Vec2Objective.self) }
        set { setSettings(newValue, of: Wav2Vec2Objective.self) }
    }
}
