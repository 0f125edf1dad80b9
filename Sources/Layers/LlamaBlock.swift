import Tensors

/// Llama decoder layer (Touvron et al. 2023, §2.2): pre-RMSNorm, causal attention with rotary embedding
/// and no biases, SwiGLU feed-forward.
///     x = x + dropout(self_attn(input_layernorm(x)))
///     x = x + dropout(mlp(post_attention_layernorm(x)))
/// Keys as Hugging Face LlamaDecoderLayer: input_layernorm, self_attn.{q,k,v,o}_proj,
/// post_attention_layernorm, mlp.{gate,up,down}_proj. x: (B, T, C) → (B, T, C).
public final class LlamaBlock: Module, ResidualBlock {
    @Key public var attentionNorm: RMSNorm
    @Key public var attention: MultiHeadAttention
    @Key public var mlpNorm: RMSNorm
    @Key public var mlp: SwiGLU
    public let residualDropout: Dropout

    public init(dModel: Int, heads: Int, mlpHidden: Int, eps: Float = 1e-5, ropeBase: Float = 10_000,
                dropout p: Float = 0, generator: inout RandomGenerator) {
        _attentionNorm = Key(wrappedValue: RMSNorm(dModel, eps: eps), "input_layernorm")
        _attention = Key(wrappedValue: MultiHeadAttention(dModel: dModel, heads: heads, layout: .llama, causal: true,
                                                          ropeBase: ropeBase, generator: &generator), "self_attn")
        _mlpNorm = Key(wrappedValue: RMSNorm(dModel, eps: eps), "post_attention_layernorm")
        _mlp = Key(wrappedValue: SwiGLU(dModel: dModel, hidden: mlpHidden, generator: &generator), "mlp")
        residualDropout = Dropout(p)
        super.init()
    }

    public var residualProjections: [Linear] { [attention.outputProjection, mlp.down] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = residualDropout.adding(to: x, attention(attentionNorm(x)))
        return residualDropout.adding(to: h, mlp(mlpNorm(h)))
    }
}
