import Tensors

/// Shape of wav2vec 2.0's convolutional feature encoder (Baevski et al. 2020 §2, §4.2): seven 1-D convolutions
/// over the raw 16 kHz waveform, kernels 10,3,3,3,3,2,2 and strides 5,2,2,2,2,2,2 (a 400-sample, 25 ms receptive
/// field every 320 samples, 20 ms). The paper uses 512 channels; the default here is small enough for a CPU.
public struct Wav2Vec2FeatureEncoderConfig: Equatable {
    /// Where the feature encoder normalises (Hugging Face `feat_extract_norm`).
    public enum Normalization: String, CaseIterable {
        /// GroupNorm with one group per channel after the first convolution only (wav2vec2-base).
        case group
        /// LayerNorm over the channels after every convolution (wav2vec2-large-lv60).
        case layer
    }

    public var channels: Int
    public var kernels: [Int]
    public var strides: [Int]
    public var normalization: Normalization

    public init(channels: Int = 128, kernels: [Int] = [10, 3, 3, 3, 3, 2, 2], strides: [Int] = [5, 2, 2, 2, 2, 2, 2],
                normalization: Normalization = .group) {
        precondition(kernels.count == strides.count && !kernels.isEmpty, "one stride per kernel")
        self.channels = channels
        self.kernels = kernels
        self.strides = strides
        self.normalization = normalization
    }

    /// Samples per output frame (320 for the paper's strides).
    public var downsampling: Int { strides.reduce(1, *) }

    /// Frames the convolutions make of `samples` samples (no padding): L ← ⌊(L − K) / S⌋ + 1 per layer, 0 once
    /// the input is shorter than a kernel (Hugging Face's `_get_feat_extract_output_lengths`).
    public func frames(samples: Int) -> Int {
        var length = samples
        for (kernel, stride) in zip(kernels, strides) {
            guard length >= kernel else { return 0 }
            length = (length - kernel) / stride + 1
        }
        return length
    }
}

/// Group norm as torch.nn.GroupNorm (affine). x: (B, C, L) → (B, C, L). Keys: weight, bias.
public final class GroupNorm: Module {
    public var weight: Tensor
    public var bias: Tensor
    public let groups: Int
    public let eps: Float

    public init(groups: Int, channels: Int, eps: Float = 1e-5) {
        weight = Tensor(repeating: 1, shape: [channels], requiresGrad: true)
        bias = Tensor(zeros: [channels], requiresGrad: true)
        self.groups = groups
        self.eps = eps
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps) }
}

/// One layer of the feature encoder: convolution without bias → norm (see `Normalization`) → GELU.
/// Keys as Hugging Face: conv.weight (C, Cin, K), layer_norm.{weight,bias} when the layer has a norm.
public final class Wav2Vec2ConvLayer: Module {
    @Key public var weight: Tensor
    @Key public var groupNorm: GroupNorm?
    @Key public var layerNorm: LayerNorm?
    public let stride: Int

    init(inChannels: Int, channels: Int, kernel: Int, stride: Int, norm: Wav2Vec2FeatureEncoderConfig.Normalization?,
         generator: inout RandomGenerator) {
        self.stride = stride
        // Kaiming normal (fan in), as Hugging Face initialises the convolutions.
        let std = (2 / Float(inChannels * kernel)).squareRoot()
        _weight = Key(wrappedValue: Tensor.normal([channels, inChannels, kernel], std: std, generator: &generator,
                                                  requiresGrad: true), "conv.weight")
        _groupNorm = Key(wrappedValue: norm == .group ? GroupNorm(groups: channels, channels: channels) : nil, "layer_norm")
        _layerNorm = Key(wrappedValue: norm == .layer ? LayerNorm(channels, eps: 1e-5) : nil, "layer_norm")
        super.init()
    }

    /// x: (B, Cin, L) → (B, C, ⌊(L − K) / S⌋ + 1).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var y = conv1d(x, weight: weight, stride: stride)
        if let groupNorm { y = groupNorm(y) }
        if let layerNorm { y = layerNorm(y.transposed(1, 2)).transposed(1, 2) }
        return gelu(y, approximate: .none)
    }
}

/// wav2vec 2.0's feature encoder: the raw waveform → latent speech representations z, one every 20 ms.
/// waveform: (B, L) → (B, C, T) with T = `config.frames(samples: L)`. Keys: conv_layers.N.…
public final class Wav2Vec2FeatureEncoder: Module {
    public let config: Wav2Vec2FeatureEncoderConfig
    @Key public var layers: [Wav2Vec2ConvLayer]

    public init(_ config: Wav2Vec2FeatureEncoderConfig, generator: inout RandomGenerator) {
        self.config = config
        var inChannels = 1
        var layers: [Wav2Vec2ConvLayer] = []
        for (index, (kernel, stride)) in zip(config.kernels, config.strides).enumerated() {
            let norm = config.normalization == .layer || index == 0 ? config.normalization : nil
            layers.append(Wav2Vec2ConvLayer(inChannels: inChannels, channels: config.channels, kernel: kernel, stride: stride,
                                            norm: norm, generator: &generator))
            inChannels = config.channels
        }
        _layers = Key(wrappedValue: layers, "conv_layers")
        super.init()
    }

    public func callAsFunction(_ waveform: Tensor) -> Tensor {
        precondition(waveform.rank == 2, "the feature encoder takes (B, samples), got \(waveform.shape)")
        precondition(config.frames(samples: waveform.size(1)) >= 1,
                     "\(waveform.size(1)) samples are fewer than the feature encoder's receptive field")
        var x = waveform.reshaped([waveform.size(0), 1, waveform.size(1)])
        for layer in layers { x = layer(x) }
        return x
    }
}
