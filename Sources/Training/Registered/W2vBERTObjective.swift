import Layers
import Objectives
import Tensors

extension ObjectiveKind {
    /// w2v-BERT: wav2vec 2.0's contrastive task in the first layers, masked prediction of its codes in the rest.
    public static let w2vBERT = ObjectiveKind(rawValue: "w2v_bert")
}

/// `objective.kind: w2v_bert` — w2v-BERT (Chung et al. 2021) over fbank frames (audio_frames; `block: conformer`
/// gives the paper's encoder): spans of the stacked frames are masked; the first `contrastive_layers` layers form the
/// contrastive module (wav2vec 2.0's loss against Gumbel-quantised targets, with codebook diversity); the layers
/// after them form the masked-prediction module, which predicts the quantiser's codes of the masked frames.
public enum W2vBERTObjective: ObjectiveDefinition {
    public typealias Settings = W2vBERTSection
    public static let kind = ObjectiveKind.w2vBERT
    public static let settingsKey: String? = "w2v_bert"
    public static let families: [ModelFlavor] = [.audioFrames]

    public static func problems(_ settings: W2vBERTSection, recipe: Recipe) -> [String] {
        var problems = settings.config.problem.map { ["objective.w2v_bert: \($0)"] } ?? []
        let layers = recipe.model.layers
        if !(1..<layers).contains(settings.contrastiveLayers) {
            problems.append("objective.w2v_bert.contrastive_layers must be 1 … \(layers - 1): the masked-prediction module "
                + "needs at least one of the model's \(layers) layers; got \(settings.contrastiveLayers)")
        }
        if let weight = settings.wav2vec2.featurePenaltyWeight, weight > 0 {
            problems.append("objective.w2v_bert.feature_penalty_weight does not apply: no feature encoder comes before the quantiser")
        }
        return problems
    }

    public static func backboneOptions(_ settings: W2vBERTSection, model: ModelSection) -> BackboneOptions {
        BackboneOptions(maskEmbedding: true)
    }

    public static func make(_ settings: W2vBERTSection, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        let config = settings.config
        if let problem = config.problem { throw TrainingError("objective.w2v_bert: \(problem)") }
        guard let frames = backbone as? AudioFrameEncoder else { throw TrainingError("objective w2v_bert needs a frame encoder") }
        guard (1..<frames.config.layers).contains(settings.contrastiveLayers) else {
            throw TrainingError("objective.w2v_bert.contrastive_layers must be 1 … \(frames.config.layers - 1), got \(settings.contrastiveLayers)")
        }
        let model = Wav2Vec2FramesForPreTraining(encoder: frames, config: config, contrastiveLayers: settings.contrastiveLayers,
                                                 generator: &generator)
        return Wav2Vec2(model: model, config: config)
    }
}

/// `objective.w2v_bert:` — every `objective.wav2vec2` key (masking, quantiser, contrastive loss; feature_penalty_weight
/// excepted), plus `contrastive_layers` (the contrastive module's depth; default 1) and `mlm_weight` (β; default 1).
public struct W2vBERTSection: RecipeSection {
    public var wav2vec2 = Wav2Vec2Section()
    public var contrastiveLayers = 1
    public var mlmWeight: Float?

    public init() {}

    public static let keys: [RecipeKey<W2vBERTSection>] = Wav2Vec2Section.keys.map { .init($0, in: \.wav2vec2) } + [
        .init("contrastive_layers", \.contrastiveLayers), .init("mlm_weight", \.mlmWeight),
    ]

    public var config: Wav2Vec2Config {
        var config = wav2vec2.config
        if let mlmWeight { config.maskedPredictionWeight = mlmWeight }
        return config
    }
}

extension ObjectiveSection {
    public var w2vBERT: W2vBERTSection? {
        get { settings(of: W2vBERTObjective.self) }
        set { setSettings(newValue, of: W2vBERTObjective.self) }
    }
}
