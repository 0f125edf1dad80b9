import Foundation
import Layers

/// `model:` — the architecture. Also written to each checkpoint's config.json (with `vocab_size` resolved).
/// Which keys apply depends on the family `flavor` names (each family lists its own; `ModelSection.commonKeys`
/// apply to all); a key of another family is an error naming the families that read it.
public struct ModelSection: RecipeSection {
    public typealias Flavor = ModelFlavor

    /// The registered family: gpt2, llama, bert, audio_frames, audio_patches, audio_waveform (Registered/).
    public var flavor = ModelFlavor.gpt2
    public var layers = 4
    public var dModel = 192
    public var heads = 4
    /// Tokens per training window (T), and the size of the position table unless `max_positions` says otherwise.
    public var context = 256
    /// gpt2, llama, bert: positions the model holds (its position table; the longest input it accepts), when more
    /// than the training windows' `context`: a Hugging Face checkpoint keeps its 512 (BERT) or 1024 (GPT-2) positions
    /// while training on shorter windows, as BERT itself was. nil: model.context.
    public var maxPositions: Int?
    /// nil: the corpus' vocabulary size (corpus.json).
    public var vocabSize: Int?
    public var dropout: Float = 0
    /// Feed-forward width; nil: the flavour's default (4·d_model for gpt2 and bert, ≈ 8/3·d_model for llama).
    public var mlpHidden: Int?
    /// Output layer shares the token embedding; nil: the flavour's default (gpt2 tied, llama untied).
    public var tieEmbeddings: Bool?
    /// Epsilon of every norm; nil: the flavour's default (1e-5 for gpt2 and llama, 1e-12 for bert and audio).
    public var normEps: Float?
    /// Rotary base (llama).
    public var ropeBase: Float = 10_000
    /// Audio: bins per feature frame; nil: the feature corpus' (it must match when set).
    public var featureDim: Int?
    /// Audio: per-frame target values that follow the features in each crop (data.targets); nil: the target corpus'
    /// (0 without one; it must match when set).
    public var targetDim: Int?
    /// audio_frames: frames concatenated per position (TERA's downsampling); nil: 1.
    public var frameStack: Int?
    /// audio_frames: learned | convolutional | none positions; nil: learned.
    public var positions: AudioEncoderConfig.Positions?
    /// Convolutional positions: kernel and groups; nil: 32 and 16 (wav2vec 2.0's 128 and 16, scaled down).
    public var convPositionKernel: Int?
    public var convPositionGroups: Int?
    /// audio_patches: patch height in bins and width in frames; nil: 16 and 16 (SSAST).
    public var patchFrequency: Int?
    public var patchTime: Int?
    /// audio_waveform: channels of the feature encoder's convolutions (the paper's 512); nil: 128.
    public var convDim: Int?
    /// audio_waveform: group (GroupNorm after the first convolution, wav2vec2-base) | layer (LayerNorm after each);
    /// nil: group.
    public var featureNorm: Wav2Vec2FeatureEncoderConfig.Normalization?
    /// audio_frames, audio_waveform: bert | conformer layers; nil: bert.
    public var block: AudioEncoderConfig.Block?
    /// Conformer layers: the depthwise kernel (odd); nil: 15.
    public var conformerKernel: Int?
    /// fastspeech: the feed-forward blocks' convolution kernel (odd); nil: 9.
    public var convKernel: Int?
    /// fastspeech: the duration and variance predictors' width and kernel; nil: d_model and 3.
    public var predictorHidden: Int?
    public var predictorKernel: Int?
    /// fastspeech: the aligner's dimension; nil: 80.
    public var alignmentDim: Int?
    /// fastspeech: the variances the adaptor predicts besides duration (of: pitch, energy); nil: [pitch, energy].
    public var variances: [String]?

    public init() {}

    public static let keys: [RecipeKey<ModelSection>] = [
        .init("flavor", \.flavor), .init("layers", \.layers), .init("d_model", \.dModel), .init("heads", \.heads),
        .init("context", \.context), .init("max_positions", \.maxPositions), .init("vocab_size", \.vocabSize), .init("dropout", \.dropout),
        .init("mlp_hidden", \.mlpHidden), .init("tie_embeddings", \.tieEmbeddings), .init("norm_eps", \.normEps),
        .init("rope_base", \.ropeBase), .init("feature_dim", \.featureDim), .init("target_dim", \.targetDim), .init("frame_stack", \.frameStack),
        .init("positions", choice: \.positions), .init("conv_position_kernel", \.convPositionKernel),
        .init("conv_position_groups", \.convPositionGroups), .init("patch_frequency", \.patchFrequency),
        .init("patch_time", \.patchTime), .init("conv_dim", \.convDim), .init("feature_norm", choice: \.featureNorm),
        .init("block", choice: \.block), .init("conformer_kernel", \.conformerKernel),
        .init("conv_kernel", \.convKernel), .init("predictor_hidden", \.predictorHidden),
        .init("predictor_kernel", \.predictorKernel), .init("alignment_dim", \.alignmentDim), .init("variances", \.variances),
    ]

    /// Problems every family shares.
    func commonProblems() -> [String] {
        var problems: [String] = []
        if layers < 1 { problems.append("model.layers must be ≥ 1, got \(layers)") }
        if !(dModel >= 1 && heads >= 1 && dModel % heads == 0) {
            problems.append("model.d_model (\(dModel)) must be a positive multiple of model.heads (\(heads))")
        }
        if context < 1 { problems.append("model.context must be ≥ 1, got \(context)") }
        if let maxPositions, maxPositions < context {
            problems.append("model.max_positions (\(maxPositions)) must be at least model.context (\(context))")
        }
        if let vocabSize, vocabSize < 2 { problems.append("model.vocab_size must be ≥ 2") }
        if !(dropout >= 0 && dropout < 1) { problems.append("model.dropout must be in [0, 1), got \(dropout)") }
        return problems
    }
}
