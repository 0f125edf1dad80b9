import Tensors

/// What the feature encoder and its projection make of a padded batch of waveforms.
public struct Wav2Vec2Features {
    /// The feature encoder's output z: (B, T, Cconv) (the feature penalty's input).
    public var latent: Tensor
    /// LayerNorm(z): (B, T, Cconv), what the quantiser reads (fairseq's `unmasked_features`).
    public var normalized: Tensor
    /// Projected to the Transformer's width, after dropout: (B, T, C).
    public var projected: Tensor
    /// Frames of each row that come from audio.
    public var frameLengths: [Int]
}

/// wav2vec 2.0's encoder (Baevski et al. 2020 §2): raw waveform → convolutional feature encoder → LayerNorm →
/// Linear to the model width → dropout → (masked frames replaced by a learned vector, §3.1) → convolutional
/// relative positions → LayerNorm → dropout → post-LN Transformer layers (wav2vec2-base's order).
///
/// As an `AudioEncoder` its "features" are waveforms: (B, L, 1) samples with lengths in samples, and its
/// config's featureDimension is 1. Keys (Hugging Face Wav2Vec2Model): feature_extractor.conv_layers.N.…,
/// feature_projection.layer_norm, feature_projection.projection, masked_spec_embed, encoder.pos_conv_embed.conv.…
/// (a plain weight: Hugging Face's weight-normalised g and v fold into it), encoder.layer_norm, encoder.layers.N.…
/// (HF BertLayer names: the same post-LN layer as Wav2Vec2EncoderLayer, whose keys are named differently).
public final class Wav2Vec2Model: Module, AudioEncoder {
    public let config: AudioEncoderConfig
    @Key public var featureEncoder: Wav2Vec2FeatureEncoder
    @Key public var featureNorm: LayerNorm
    @Key public var featureProjection: Linear
    /// (C): what masked frames become (uniform in [0, 1) at initialisation, as Hugging Face).
    @Key public var maskEmbedding: Tensor
    @Key public var positionConvolution: ConvolutionalPositionEmbedding
    @Key public var norm: LayerNorm
    @Key public var layers: [any AudioEncoderLayer]
    public let dropout: Dropout

    public var featureEncoderConfig: Wav2Vec2FeatureEncoderConfig { featureEncoder.config }
    /// Samples per 20 ms frame (the feature encoder's total stride).
    public var timeUnit: Int { featureEncoder.config.downsampling }
    public var frequencyRows: Int { 1 }
    public var positionInputSize: Int { featureEncoder.config.channels }

    /// `config`: the Transformer (hidden size, layers, heads, feed-forward width, convolutional positions' kernel
    /// and groups, norm epsilon, dropout); its featureDimension is set to 1 (one sample per input step).
    public init(_ config: AudioEncoderConfig, featureEncoder: Wav2Vec2FeatureEncoderConfig, generator: inout RandomGenerator) {
        var config = config
        config.featureDimension = 1
        config.positions = .convolutional
        config.frameStack = 1
        self.config = config
        let c = config.hiddenSize
        _featureEncoder = Key(wrappedValue: Wav2Vec2FeatureEncoder(featureEncoder, generator: &generator), "feature_extractor")
        _featureNorm = Key(wrappedValue: LayerNorm(featureEncoder.channels, eps: 1e-5), "feature_projection.layer_norm")
        _featureProjection = Key(wrappedValue: Linear(featureEncoder.channels, c, generator: &generator),
                                 "feature_projection.projection")
        _maskEmbedding = Key(wrappedValue: Tensor.uniform([c], generator: &generator, requiresGrad: true), "masked_spec_embed")
        _positionConvolution = Key(wrappedValue: ConvolutionalPositionEmbedding(
            channels: c, kernel: config.convolutionKernel, groups: config.convolutionGroups, generator: &generator),
            "encoder.pos_conv_embed")
        _norm = Key(wrappedValue: LayerNorm(c, eps: config.layerNormEps), "encoder.layer_norm")
        _layers = Key(wrappedValue: config.makeLayers(generator: &generator), "encoder.layers")
        dropout = Dropout(config.dropout)
        super.init()
    }

    /// waveform: (B, L) zero-padded after each row's `lengths[b]` samples → z, LayerNorm(z) and the projection.
    /// The group norm of wav2vec2-base normalises over the whole row, padding included (Hugging Face therefore
    /// passes no attention mask to such models); crops of one length avoid the question.
    public func features(_ waveform: Tensor, lengths: [Int]) -> Wav2Vec2Features {
        precondition(lengths.count == waveform.size(0), "\(lengths.count) lengths for a batch of \(waveform.size(0))")
        let latent = featureEncoder(waveform).transposed(1, 2)                                 // (B, T, Cconv)
        let normalized = featureNorm(latent)
        let frames = latent.size(1)
        let frameLengths = lengths.map { min(frames, featureEncoder.config.frames(samples: $0)) }
        return Wav2Vec2Features(latent: latent, normalized: normalized, projected: dropout(featureProjection(normalized)),
                                frameLengths: frameLengths)
    }

    /// x: the projected features (B, T, C); masked: B·T flags, true where a frame becomes the mask embedding
    /// → the Transformer's input and every layer's output.
    public func encode(_ projected: Tensor, frameLengths: [Int], masked: [Bool]?) -> AudioEncoderOutput {
        var x = projected
        let (batch, frames) = (x.size(0), x.size(1))
        if let masked {
            precondition(masked.count == batch * frames, "\(masked.count) mask flags for \(batch)×\(frames) frames")
            let m = Tensor(masked.map { $0 ? Float(1) : 0 }, shape: [batch, frames, 1])
            let keep = Tensor(masked.map { $0 ? Float(0) : 1 }, shape: [batch, frames, 1])
            x = x * keep + m * maskEmbedding                                                    // (B, T, 1) · (C)
        }
        let mask = prefixMask(frameLengths, width: frames)
        x = dropout(norm(positionConvolution(x, attentionMask: mask)))
        return AudioEncoderOutput(hiddenStates: transformerStates(x, layers: layers, attentionMask: mask), attentionMask: mask)
    }

    /// features: (B, L, 1) waveforms, lengths in samples → every layer's states (B, T, C), T = L / 320 frames.
    public func callAsFunction(_ features: Tensor, lengths: [Int]) -> AudioEncoderOutput {
        precondition(features.rank == 3 && features.size(2) == 1, "wav2vec 2.0 takes (B, samples, 1) waveforms, got \(features.shape)")
        let extracted = self.features(features.reshaped([features.size(0), features.size(1)]), lengths: lengths)
        return encode(extracted.projected, frameLengths: extracted.frameLengths, masked: nil)
    }
}
