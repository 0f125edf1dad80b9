import Tensors

/// One layer of an audio encoder's Transformer body: x (B, N, C) with the (B, N) attention mask (1 = audio,
/// 0 = padding) → (B, N, C). BERT's post-LN layer and the Conformer layer are the two kinds a recipe chooses from.
public protocol AudioEncoderLayer: Module {
    func callAsFunction(_ x: Tensor, attentionMask: IntTensor?) -> Tensor
}

extension BertLayer: AudioEncoderLayer {}

/// Conformer layer (Gulati et al. 2020, §2, Fig. 1), the encoder block of w2v-BERT (Chung et al. 2021 §3.1):
///     x = x + ½ · FFN₁(x)
///     x = x + MHSA(LayerNorm(x))            rotary positions (Su et al. 2021) on q and k, padded keys skipped
///     x = x + Conv(x)
///     x = x + ½ · FFN₂(x)
///     y = LayerNorm(x)
/// FFN(x) = W₂ · swish(W₁ · LayerNorm(x)) (macaron halves); Conv(x) = W_b · swish(LN(depthwise(GLU(W_a · LN(x))))).
/// The convolution module normalises each frame with a LayerNorm where the paper has BatchNorm, as w2v-BERT 2.0
/// (Hugging Face Wav2Vec2Bert) does: no running statistics, and padding never enters a norm. Padded frames are
/// zeroed before the depthwise convolution, so they never leak into real ones. The kernel is odd ("same" padding).
/// Keys follow Hugging Face's Wav2Vec2BertEncoderLayer: ffn1_layer_norm, ffn1.intermediate_dense,
/// ffn1.output_dense, self_attn_layer_norm, self_attn.… (BERT attention names), conv_module.layer_norm,
/// conv_module.pointwise_conv1 (2C, C), conv_module.depthwise_conv.weight (C, K), conv_module.depthwise_layer_norm,
/// conv_module.pointwise_conv2 (C, C), ffn2_layer_norm, ffn2.…, final_layer_norm. Pointwise convolutions are
/// stored as (out, in) matrices, without biases, as there.
public final class ConformerLayer: Module, ResidualBlock, AudioEncoderLayer {
    @Key public var ffn1Norm: LayerNorm
    @Key public var ffn1In: Linear
    @Key public var ffn1Out: Linear
    @Key public var attentionNorm: LayerNorm
    @Key public var attention: MultiHeadAttention
    @Key public var convolutionNorm: LayerNorm
    @Key public var pointwiseIn: Linear
    @Key public var depthwiseWeight: Tensor
    @Key public var depthwiseNorm: LayerNorm
    @Key public var pointwiseOut: Linear
    @Key public var ffn2Norm: LayerNorm
    @Key public var ffn2In: Linear
    @Key public var ffn2Out: Linear
    @Key public var finalNorm: LayerNorm
    public let kernel: Int
    public let residualDropout: Dropout

    public init(dModel: Int, heads: Int, intermediateSize: Int, kernel: Int, eps: Float = 1e-5, ropeBase: Float = 10000,
                dropout p: Float = 0, generator: inout RandomGenerator) {
        precondition(kernel >= 1 && kernel % 2 == 1, "the Conformer's depthwise kernel must be odd, got \(kernel)")
        self.kernel = kernel
        func norm() -> LayerNorm { LayerNorm(dModel, eps: eps) }
        _ffn1Norm = Key(wrappedValue: norm(), "ffn1_layer_norm")
        _ffn1In = Key(wrappedValue: Linear(dModel, intermediateSize, generator: &generator), "ffn1.intermediate_dense")
        _ffn1Out = Key(wrappedValue: Linear(intermediateSize, dModel, generator: &generator), "ffn1.output_dense")
        _attentionNorm = Key(wrappedValue: norm(), "self_attn_layer_norm")
        _attention = Key(wrappedValue: MultiHeadAttention(dModel: dModel, heads: heads, layout: .bert, causal: false,
                                                          ropeBase: ropeBase, generator: &generator), "self_attn")
        _convolutionNorm = Key(wrappedValue: norm(), "conv_module.layer_norm")
        _pointwiseIn = Key(wrappedValue: Linear(dModel, 2 * dModel, bias: false, generator: &generator), "conv_module.pointwise_conv1")
        // PyTorch's Conv1d default: U(±1/√fan_in), fan_in = K for a depthwise kernel.
        let bound = 1 / Float(kernel).squareRoot()
        _depthwiseWeight = Key(wrappedValue: Tensor.uniform([dModel, kernel], low: -bound, high: bound, generator: &generator,
                                                            requiresGrad: true), "conv_module.depthwise_conv.weight")
        _depthwiseNorm = Key(wrappedValue: norm(), "conv_module.depthwise_layer_norm")
        _pointwiseOut = Key(wrappedValue: Linear(dModel, dModel, bias: false, generator: &generator), "conv_module.pointwise_conv2")
        _ffn2Norm = Key(wrappedValue: norm(), "ffn2_layer_norm")
        _ffn2In = Key(wrappedValue: Linear(dModel, intermediateSize, generator: &generator), "ffn2.intermediate_dense")
        _ffn2Out = Key(wrappedValue: Linear(intermediateSize, dModel, generator: &generator), "ffn2.output_dense")
        _finalNorm = Key(wrappedValue: norm(), "final_layer_norm")
        residualDropout = Dropout(p)
        super.init()
    }

    public var residualProjections: [Linear] { [ffn1Out, attention.outputProjection, pointwiseOut, ffn2Out] }

    /// x: (B, N, C); attentionMask: (B, N), 1 = audio, 0 = padding (nil: every position is audio) → (B, N, C).
    public func callAsFunction(_ x: Tensor, attentionMask: IntTensor?) -> Tensor {
        precondition(x.rank == 3, "Conformer layer input must be (B, N, C), got \(x.shape)")
        let (batch, length, channels) = (x.size(0), x.size(1), x.size(2))
        let keyPadding = attentionMask.map { mask in IntTensor(mask.values.map { $0 == 0 ? Int32(1) : 0 }, shape: mask.shape) }
        var h = x + residualDropout(ffn1Out(ffn1In(ffn1Norm(x)), after: .silu)) * 0.5
        h = h + residualDropout(attention(attentionNorm(h), keyPadding: keyPadding))
        // Convolution module: (B, N, 2C) → GLU → (B, N, C), padding zeroed, depthwise over time.
        let doubled = pointwiseIn(convolutionNorm(h))
        let halves = split(doubled, sizes: [channels, channels], axis: 2)
        var gated = halves[0] * sigmoid(halves[1])
        if let attentionMask {
            gated = gated * Tensor(attentionMask.values.map { Float($0) }, shape: [batch, length, 1])
        }
        let convolved = depthwiseConv1d(gated, weight: depthwiseWeight, bias: nil, padding: kernel / 2)
        h = h + residualDropout(pointwiseOut(depthwiseNorm(convolved), after: .silu))
        h = h + residualDropout(ffn2Out(ffn2In(ffn2Norm(h)), after: .silu)) * 0.5
        return finalNorm(h)
    }
}
