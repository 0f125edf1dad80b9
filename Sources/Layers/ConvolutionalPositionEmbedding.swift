import Tensors

/// Relative position information from a grouped convolution over time (wav2vec 2.0 §2, Baevski et al. 2020;
/// HuBERT): y = x + GELU(conv1d(x)). wav2vec 2.0 uses kernel 128 and 16 groups with weight normalisation; this
/// one has a plain weight (its scale is learned all the same). An even kernel gives one output too many, dropped
/// at the end as wav2vec 2.0's `SamePad` does. Key names: `conv.weight`, `conv.bias`.
/// x: (B, N, C), attentionMask: (B, N) → (B, N, C); padded positions are zeroed before the convolution so that
/// padding never leaks into real frames.
public final class ConvolutionalPositionEmbedding: Module {
    @Key public var weight: Tensor
    @Key public var bias: Tensor
    public let kernel: Int
    public let groups: Int

    public init(channels: Int, kernel: Int, groups: Int, generator: inout RandomGenerator) {
        precondition(channels % groups == 0, "channels \(channels) not divisible by \(groups) groups")
        precondition(kernel >= 1, "kernel must be ≥ 1")
        self.kernel = kernel
        self.groups = groups
        // wav2vec 2.0: N(0, √(4 / (K·C))), bias 0.
        let std = (4 / Float(kernel * channels)).squareRoot()
        _weight = Key(wrappedValue: Tensor.normal([channels, channels / groups, kernel], std: std, generator: &generator,
                                                  requiresGrad: true), "conv.weight")
        _bias = Key(wrappedValue: Tensor(zeros: [channels], requiresGrad: true), "conv.bias")
        super.init()
    }

    public func callAsFunction(_ x: Tensor, attentionMask: IntTensor) -> Tensor {
        let (batch, length, channels) = (x.size(0), x.size(1), x.size(2))
        let keep = Tensor(attentionMask.values.map { Float($0) }, shape: [batch, length, 1])
        let channelsFirst = (x * keep).permuted([0, 2, 1])                                    // (B, C, N)
        var y = conv1d(channelsFirst, weight: weight, bias: bias, padding: kernel / 2, groups: groups)
        if y.size(2) > length { y = slice(y, axis: 2, range: 0..<length) }                      // SamePad
        precondition(y.shape == [batch, channels, length], "convolutional positions: \(y.shape)")
        return x + gelu(y, approximate: .none).permuted([0, 2, 1])
    }
}
