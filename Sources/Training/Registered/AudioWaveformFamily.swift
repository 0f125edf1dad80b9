import Layers
import Tensors

extension ModelFlavor {
    /// wav2vec 2.0: convolutional feature encoder over the raw waveform, then a Transformer.
    public static let audioWaveform = ModelFlavor(rawValue: "audio_waveform")
}

/// `model.flavor: audio_waveform` — wav2vec 2.0's model (Wav2Vec2Model: a convolutional feature encoder over 16 kHz
/// samples, convolutional positions, a Transformer) on waveform crops.
public enum AudioWaveformFamily: ModelFamily {
    public static let flavor = ModelFlavor.audioWaveform
    public static let dataForm: any DataForm.Type = WaveformCrops.self
    public static let keys: Set<String> = ["feature_dim", "conv_dim", "feature_norm", "conv_position_kernel", "conv_position_groups",
                                              "block", "conformer_kernel"]

    public static func problems(_ model: ModelSection) -> [String] {
        var problems = model.blockProblems()
        if let featureDim = model.featureDim, featureDim != 1 {
            problems.append("model.feature_dim of audio_waveform is 1 (one sample), got \(featureDim)")
        }
        let encoder = model.featureEncoderConfig
        if encoder.channels < 1 { problems.append("model.conv_dim must be ≥ 1, got \(encoder.channels)") }
        if encoder.frames(samples: model.context) < 2 {
            problems.append("model.context (\(model.context) samples) must hold at least two 20 ms frames (\(encoder.downsampling + 400) samples)")
        }
        return problems + model.convolutionalPositionProblems()
    }

    public static func makeBackbone(_ model: ModelSection, options: BackboneOptions, generator: inout RandomGenerator) throws -> Module {
        Wav2Vec2Model(model.audioEncoderConfig(featureDimension: 1), featureEncoder: model.featureEncoderConfig, generator: &generator)
    }
}

extension ModelSection {
    /// audio_waveform: the feature encoder this section describes (conv_dim, feature_norm; the paper's kernels and strides).
    public var featureEncoderConfig: Wav2Vec2FeatureEncoderConfig {
        Wav2Vec2FeatureEncoderConfig(channels: convDim ?? 128, normalization: featureNorm ?? .group)
    }
}
