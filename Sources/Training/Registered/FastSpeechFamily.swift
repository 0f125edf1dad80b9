import AudioData
import Layers
import Objectives
import Tensors

extension ModelFlavor {
    /// FastSpeech 2: phonemes → log-mel frames, non-autoregressively.
    public static let fastSpeech = ModelFlavor(rawValue: "fastspeech")
}

extension ObjectiveKind {
    /// FastSpeech 2's losses with its own aligner.
    public static let fastSpeech = ObjectiveKind(rawValue: "fastspeech")
}

/// `model.flavor: fastspeech` — FastSpeechModel on speech pairs (data.tts): `layers` feed-forward Transformer blocks
/// in the encoder and as many in the decoder, `mlp_hidden` the blocks' convolution width (nil: 4·d_model), `context`
/// the longest utterance in frames; feature_dim (mel bins) and vocab_size (phonemes + padding) come from the corpus.
public enum FastSpeechFamily: ModelFamily {
    public static let flavor = ModelFlavor.fastSpeech
    public static let dataForm: any DataForm.Type = SpeechPairs.self
    public static let keys: Set<String> = ["feature_dim", "vocab_size", "conv_kernel", "predictor_hidden", "predictor_kernel",
                                              "alignment_dim", "variances"]
    /// The variances a TTS corpus supplies per frame.
    public static let knownVariances = TTSCorpus.variances

    public static func problems(_ model: ModelSection) -> [String] {
        var problems: [String] = []
        if let kernel = model.convKernel, kernel < 1 || kernel % 2 == 0 { problems.append("model.conv_kernel must be odd and ≥ 1, got \(kernel)") }
        if let kernel = model.predictorKernel, kernel < 1 || kernel % 2 == 0 {
            problems.append("model.predictor_kernel must be odd and ≥ 1, got \(kernel)")
        }
        for (key, value) in [("predictor_hidden", model.predictorHidden), ("alignment_dim", model.alignmentDim)] {
            if let value, value < 1 { problems.append("model.\(key) must be ≥ 1, got \(value)") }
        }
        for name in model.variances ?? [] where !knownVariances.contains(name) {
            problems.append("model.variances: '\(name)' is not one the TTS corpus supplies (\(knownVariances.joined(separator: ", ")))")
        }
        return problems
    }

    public static func makeBackbone(_ model: ModelSection, options: BackboneOptions, generator: inout RandomGenerator) throws -> Module {
        FastSpeechModel(model.fastSpeechConfig, generator: &generator)
    }
}

extension ModelSection {
    /// fastspeech: the model this (resolved) section describes.
    public var fastSpeechConfig: FastSpeechConfig {
        FastSpeechConfig(phonemeCount: vocabSize ?? 1, melCount: featureDim ?? 80, dModel: dModel, heads: heads,
                         encoderLayers: layers, decoderLayers: layers, convolutionHidden: mlpHidden ?? 4 * dModel,
                         convolutionKernel: convKernel ?? 9, predictorHidden: predictorHidden ?? dModel,
                         predictorKernel: predictorKernel ?? 3, alignmentDimension: alignmentDim ?? 80,
                         variances: variances ?? ["pitch", "energy"], dropout: dropout)
    }
}

/// `objective.kind: fastspeech` — FastSpeech 2's mel, duration and variance losses with the aligner's forward-sum and
/// (from `binarization_start` on) binarization losses (FastSpeechTraining).
public enum FastSpeechObjective: ObjectiveDefinition {
    public typealias Settings = FastSpeechSection
    public static let kind = ObjectiveKind.fastSpeech
    public static let settingsKey: String? = "fastspeech"
    public static let families: [ModelFlavor] = [.fastSpeech]

    public static func problems(_ settings: FastSpeechSection, recipe: Recipe) -> [String] {
        var problems: [String] = []
        for (key, value) in [("mel_weight", settings.melWeight), ("duration_weight", settings.durationWeight),
                             ("variance_weight", settings.varianceWeight), ("alignment_weight", settings.alignmentWeight),
                             ("binarization_weight", settings.binarizationWeight)] where !(value >= 0 && value.isFinite) {
            problems.append("objective.fastspeech.\(key) must be a number ≥ 0, got \(value)")
        }
        if settings.binarizationStart < 0 { problems.append("objective.fastspeech.binarization_start must be ≥ 0") }
        if !(settings.priorScaling > 0) { problems.append("objective.fastspeech.prior_scaling must be > 0, got \(settings.priorScaling)") }
        return problems
    }

    public static func make(_ settings: FastSpeechSection, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        guard let model = backbone as? FastSpeechModel else { throw TrainingError("objective fastspeech needs a FastSpeech model") }
        let weights = FastSpeechLossWeights(mel: settings.melWeight, duration: settings.durationWeight,
                                            variance: settings.varianceWeight, alignment: settings.alignmentWeight)
        return FastSpeechTraining(model: model, weights: weights, priorScaling: settings.priorScaling,
                                  binarizationWeight: settings.binarizationWeight, binarizationStart: settings.binarizationStart)
    }
}

/// `objective.fastspeech:` — the losses' weights; binarization is off until `binarization_start` (the aligner first
/// learns from the forward-sum loss alone, as Badlani et al. do).
public struct FastSpeechSection: RecipeSection {
    public var melWeight: Float = 1
    public var durationWeight: Float = 1
    public var varianceWeight: Float = 1
    public var alignmentWeight: Float = 1
    public var binarizationWeight: Float = 1
    public var binarizationStart = 500
    public var priorScaling = 1.0

    public init() {}

    public static let keys: [RecipeKey<FastSpeechSection>] = [
        .init("mel_weight", \.melWeight), .init("duration_weight", \.durationWeight), .init("variance_weight", \.varianceWeight),
        .init("alignment_weight", \.alignmentWeight), .init("binarization_weight", \.binarizationWeight),
        .init("binarization_start", \.binarizationStart), .init("prior_scaling", \.priorScaling),
    ]
}
