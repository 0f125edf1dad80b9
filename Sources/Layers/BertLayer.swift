import Tensors

/// BERT encoder layer (Devlin et al. 2019): post-LayerNorm, bidirectional attention, exact-GELU feed-forward.
///     h = LayerNorm(x + dropout(attention(x)))
///     y = LayerNorm(h + dropout(output(gelu(intermediate(h)))))
/// Keys as Hugging Face BertLayer: attention.self.{query,key,value}, attention.output.dense,
/// attention.output.LayerNorm, intermediate.dense, output.dense, output.LayerNorm.
/// x: (B, T, C) → (B, T, C).
public final class BertLayer: Module, ResidualBlock {
    @Key public var attention: MultiHeadAttention
    @Key public var attentionNorm: LayerNorm
    @Key public var intermediate: Linear
    @Key public var output: Linear
    @Key public var outputNorm: LayerNorm
    public let residualDropout: Dropout

    public init(dModel: Int, heads: Int, intermediateSize: Int? = nil, eps: Float = 1e-12, dropout p: Float = 0,
                generator: inout RandomGenerator) {
        let hidden = intermediateSize ?? 4 * dModel
        _attention = Key(wrappedValue: MultiHeadAttention(dModel: dModel, heads: heads, layout: .bert, causal: false,
                                                          generator: &generator), "attention")
        // Hugging Face keeps each norm beside the dense layer before it (BertSelfOutput, BertOutput);
        // dotted keys reproduce that nesting without a module per level.
        _attentionNorm = Key(wrappedValue: LayerNorm(dModel, eps: eps), "attention.output.LayerNorm")
        _intermediate = Key(wrappedValue: Linear(dModel, hidden, generator: &generator), "intermediate.dense")
        _output = Key(wrappedValue: Linear(hidden, dModel, generator: &generator), "output.dense")
        _outputNorm = Key(wrappedValue: LayerNorm(dModel, eps: eps), "output.LayerNorm")
        residualDropout = Dropout(p)
        super.init()
    }

    public var residualProjections: [Linear] { [attention.outputProjection, output] }

    /// x: (B, T, C); attentionMask: (B, T) in the Hugging Face convention, 1 = attend, 0 = padding.
    public func callAsFunction(_ x: Tensor, attentionMask: IntTensor? = nil) -> Tensor {
        let keyPadding = attentionMask.map { mask in
            IntTensor(mask.values.map { $0 == 0 ? Int32(1) : 0 }, shape: mask.shape)
        }
        // Post-LN: each residual add is fused with the norm after it.
        let h = attentionNorm.addingResidual(x, residualDropout(attention(x, keyPadding: keyPadding))).normed
        return outputNorm.addingResidual(h, residualDropout(output(intermediate(h), after: .geluErf))).normed
    }
}
