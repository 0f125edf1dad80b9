import Tensors

/// A 1-D convolution over the time axis of (B, T, C) activations with "same" padding (odd kernels), as
/// torch.nn.Conv1d(in, out, K, padding=K//2) applied to x.transpose(1, 2). Keys `weight` (out, in, K), `bias` (out).
/// PyTorch's default initialisation: U(±1/√(in·K)) for both.
public final class SameConvolution1D: Module {
    @Key public var weight: Tensor
    @Key public var bias: Tensor
    public let kernel: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, generator: inout RandomGenerator) {
        precondition(kernel >= 1 && kernel % 2 == 1, "a same-padded convolution needs an odd kernel, got \(kernel)")
        self.kernel = kernel
        let bound = 1 / Float(inChannels * kernel).squareRoot()
        _weight = Key(wrappedValue: Tensor.uniform([outChannels, inChannels, kernel], low: -bound, high: bound,
                                                   generator: &generator, requiresGrad: true), "weight")
        _bias = Key(wrappedValue: Tensor.uniform([outChannels], low: -bound, high: bound, generator: &generator,
                                                 requiresGrad: true), "bias")
        super.init()
    }

    /// x: (B, T, Cin) → (B, T, Cout).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv1d(x.transposed(1, 2), weight: weight, bias: bias, padding: kernel / 2).transposed(1, 2)
    }
}

/// FastSpeech's feed-forward Transformer block (Ren et al. 2019 §3.1, Fig. 1b): self-attention then a two-layer
/// 1-D convolutional network in place of the position-wise MLP, each with a residual and a post-LayerNorm:
///     h = LayerNorm(x + attention(x))
///     y = LayerNorm(h + conv₂(ReLU(conv₁(h))))          conv₁: C → H, kernel K; conv₂: H → C, kernel 1
/// Positions enter through rotary embeddings on q and k (where FastSpeech adds sinusoids to the input). Padded
/// positions are zeroed before each convolution, so they never reach real ones.
public final class FeedForwardTransformerBlock: Module {
    @Key public var attention: MultiHeadAttention
    @Key public var attentionNorm: LayerNorm
    @Key public var convolutionIn: SameConvolution1D
    @Key public var convolutionOut: SameConvolution1D
    @Key public var outputNorm: LayerNorm
    public let residualDropout: Dropout

    public init(dModel: Int, heads: Int, convolutionHidden: Int, kernel: Int, dropout p: Float,
                generator: inout RandomGenerator) {
        _attention = Key(wrappedValue: MultiHeadAttention(dModel: dModel, heads: heads, layout: .bert, causal: false,
                                                          ropeBase: 10000, generator: &generator), "attention")
        _attentionNorm = Key(wrappedValue: LayerNorm(dModel), "attention_norm")
        _convolutionIn = Key(wrappedValue: SameConvolution1D(dModel, convolutionHidden, kernel: kernel,
                                                             generator: &generator), "conv1")
        _convolutionOut = Key(wrappedValue: SameConvolution1D(convolutionHidden, dModel, kernel: 1,
                                                              generator: &generator), "conv2")
        _outputNorm = Key(wrappedValue: LayerNorm(dModel), "output_norm")
        residualDropout = Dropout(p)
        super.init()
    }

    /// x: (B, N, C); padding: which positions are real → (B, N, C), padded positions zero.
    public func callAsFunction(_ x: Tensor, padding: SequencePadding) -> Tensor {
        let h = attentionNorm.addingResidual(x, residualDropout(attention(x, keyPadding: padding.keyPadding))).normed
        let hidden = relu(convolutionIn(h * padding.mask))
        let y = outputNorm.addingResidual(h, residualDropout(convolutionOut(hidden * padding.mask))).normed
        return y * padding.mask
    }
}

/// FastSpeech 2's variance predictor (Ren et al. 2021 §2.3): two ReLU convolutions, each followed by LayerNorm and
/// dropout, and a linear layer to one value per position. x: (B, N, C) → (B, N), zero at padded positions.
public final class VariancePredictor: Module {
    @Key public var convolution1: SameConvolution1D
    @Key public var norm1: LayerNorm
    @Key public var convolution2: SameConvolution1D
    @Key public var norm2: LayerNorm
    @Key public var projection: Linear
    public let dropout: Dropout

    public init(dModel: Int, hidden: Int, kernel: Int, dropout p: Float, generator: inout RandomGenerator) {
        _convolution1 = Key(wrappedValue: SameConvolution1D(dModel, hidden, kernel: kernel, generator: &generator), "conv1")
        _norm1 = Key(wrappedValue: LayerNorm(hidden), "norm1")
        _convolution2 = Key(wrappedValue: SameConvolution1D(hidden, hidden, kernel: kernel, generator: &generator), "conv2")
        _norm2 = Key(wrappedValue: LayerNorm(hidden), "norm2")
        _projection = Key(wrappedValue: Linear(hidden, 1, generator: &generator), "linear")
        dropout = Dropout(p)
        super.init()
    }

    public func callAsFunction(_ x: Tensor, padding: SequencePadding) -> Tensor {
        var h = dropout(norm1(relu(convolution1(x * padding.mask))))
        h = dropout(norm2(relu(convolution2(h * padding.mask))))
        let values = projection(h) * padding.mask
        return values.reshaped([x.size(0), x.size(1)])
    }
}

/// Which positions of a padded batch are real: `lengths[b]` of N. `mask` (B, N, 1) is 1 on real positions and 0
/// on padding (to multiply activations); `keyPadding` (B, N) is attention's convention, 1 on padding.
public struct SequencePadding {
    public let lengths: [Int]
    public let width: Int
    public let mask: Tensor
    public let keyPadding: IntTensor

    public init(lengths: [Int], width: Int) {
        precondition(lengths.allSatisfy { $0 >= 1 && $0 <= width }, "sequence lengths \(lengths) must be in 1...\(width)")
        self.lengths = lengths
        self.width = width
        var mask = [Float](repeating: 0, count: lengths.count * width)
        for (b, length) in lengths.enumerated() { for n in 0..<length { mask[b * width + n] = 1 } }
        self.mask = Tensor(mask, shape: [lengths.count, width, 1])
        keyPadding = IntTensor(mask.map { $0 == 0 ? Int32(1) : 0 }, shape: [lengths.count, width])
    }

    /// Real positions in all.
    public var count: Int { lengths.reduce(0, +) }
}
