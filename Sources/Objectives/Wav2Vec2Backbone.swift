import Layers
import Tensors

/// What a wav2vec 2.0 objective trains: an encoder whose latent frames can be masked, the quantiser that turns the
/// unmasked latents into targets, and the projections of context and targets into the comparison space. Two
/// forms: the paper's, over the raw waveform (Wav2Vec2ForPreTraining), and one over stacked fbank frames
/// (Wav2Vec2FramesForPreTraining, as Zhang et al. 2020 and w2v-BERT pre-train on filterbanks). w2v-BERT's backbone
/// adds a head that predicts the quantiser's codes from the last layer and reads the contrastive context earlier.
public protocol Wav2Vec2Backbone: Module {
    var audioEncoder: AudioEncoder { get }
    var quantizer: GumbelVectorQuantizer { get }
    var projectContext: Linear { get }
    var projectTargets: Linear { get }
    /// The latent frames of a batch, before any masking.
    func latentFrames(_ batch: FeatureBatch) -> Wav2Vec2Latents
    /// The embedding output and every layer's states (B, T, C), with the latent frames flagged in `masked` (B·T)
    /// replaced by the mask.
    func contextualize(_ latents: Wav2Vec2Latents, masked: [Bool]) -> [Tensor]
    /// Which of those states the contrastive loss reads: the last (wav2vec 2.0), or the contrastive module's last
    /// layer (w2v-BERT).
    var contrastiveState: Int { get }
    /// w2v-BERT's masked-prediction head: the last layer's state (C) → logits over each group's V entries (G·V);
    /// nil for wav2vec 2.0.
    var codePredictionHead: Linear? { get }
}

extension Wav2Vec2Backbone {
    public var contrastiveState: Int { audioEncoder.config.layers }
    public var codePredictionHead: Linear? { nil }
}

/// A batch's latent frames as a backbone made them.
public struct Wav2Vec2Latents {
    /// What the quantiser reads: (B, T, D).
    public var quantizerInput: Tensor
    /// What the encoder masks and contextualises (the backbone's own; shape as it needs).
    public var encoderInput: Tensor
    /// The batch's lengths in the encoder's input units (samples or feature frames).
    public var inputLengths: [Int]
    /// Latent frames of each row that come from audio.
    public var frameLengths: [Int]
    /// The feature penalty's input z (mean z² is the penalty); nil where nothing before the quantiser is trained.
    public var penaltyInput: Tensor?
}

/// The quantiser of latent frames of `latentDimension` and the projections of the context (`hiddenSize`) and of the
/// codevectors into the comparison space, drawn in that order.
struct Wav2Vec2Heads {
    let quantizer: GumbelVectorQuantizer
    let projectContext: Linear
    let projectTargets: Linear

    init(latentDimension: Int, hiddenSize: Int, config: Wav2Vec2Config, generator: inout RandomGenerator) {
        quantizer = GumbelVectorQuantizer(inputDimension: latentDimension, groups: config.codebookGroups,
                                          entries: config.codebookEntries, codevectorDimension: config.codevectorDimension,
                                          generator: &generator)
        projectContext = Linear(hiddenSize, config.projectionDimension, generator: &generator)
        projectTargets = Linear(config.codevectorDimension, config.projectionDimension, generator: &generator)
    }
}

/// The encoder with the quantiser and the two projections into the comparison space.
/// Keys (Hugging Face Wav2Vec2ForPreTraining): wav2vec2.…, quantizer.…, project_hid (C → P), project_q (D → P).
public final class Wav2Vec2ForPreTraining: Module, Wav2Vec2Backbone {
    @Key public var wav2vec2: Wav2Vec2Model
    @Key public var quantizer: GumbelVectorQuantizer
    @Key public var projectContext: Linear
    @Key public var projectTargets: Linear

    public init(encoder: Wav2Vec2Model, config: Wav2Vec2Config, generator: inout RandomGenerator) {
        _wav2vec2 = Key(wrappedValue: encoder, "wav2vec2")
        let heads = Wav2Vec2Heads(latentDimension: encoder.featureEncoderConfig.channels, hiddenSize: encoder.config.hiddenSize,
                                  config: config, generator: &generator)
        _quantizer = Key(wrappedValue: heads.quantizer, "quantizer")
        _projectContext = Key(wrappedValue: heads.projectContext, "project_hid")
        _projectTargets = Key(wrappedValue: heads.projectTargets, "project_q")
        super.init()
    }

    public var audioEncoder: AudioEncoder { wav2vec2 }

    /// batch: waveforms (B, L, 1) with lengths in samples → z, LayerNorm(z) (the quantiser's input) and the projection.
    public func latentFrames(_ batch: FeatureBatch) -> Wav2Vec2Latents {
        let (rows, samples) = (batch.features.size(0), batch.features.size(1))
        let features = wav2vec2.features(batch.features.reshaped([rows, samples]), lengths: batch.lengths)
        return Wav2Vec2Latents(quantizerInput: features.normalized, encoderInput: features.projected, inputLengths: batch.lengths,
                               frameLengths: features.frameLengths, penaltyInput: features.latent)
    }

    public func contextualize(_ latents: Wav2Vec2Latents, masked: [Bool]) -> [Tensor] {
        wav2vec2.encode(latents.encoderInput, frameLengths: latents.frameLengths, masked: masked).hiddenStates
    }
}
