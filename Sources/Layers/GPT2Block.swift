import Tensors

/// GPT-2 transformer block (Radford et al. 2019, §2.3): pre-LayerNorm, causal attention, GELU (tanh) MLP.
///     x = x + dropout(attn(ln_1(x)))
///     x = x + dropout(mlp(ln_2(x)))
/// Keys as Hugging Face GPT2Block: ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj.
/// x: (B, T, C) → (B, T, C).
public final class GPT2Block: Module, ResidualBlock {
    @Key public var attentionNorm: LayerNorm
    @Key public var attention: MultiHeadAttention
    @Key public var mlpNorm: LayerNorm
    @Key public var mlp: MLP
    public let residualDropout: Dropout

    public init(dModel: Int, heads: Int, mlpHidden: Int? = nil, eps: Float = 1e-5, dropout p: Float = 0,
                generator: inout RandomGenerator) {
        _attentionNorm = Key(wrappedValue: LayerNorm(dModel, eps: eps), "ln_1")
        _attention = Key(wrappedValue: MultiHeadAttention(dModel: dModel, heads: heads, layout: .gpt2, causal: true,
                                                          generator: &generator), "attn")
        _mlpNorm = Key(wrappedValue: LayerNorm(dModel, eps: eps), "ln_2")
        _mlp = Key(wrappedValue: MLP(dModel: dModel, hidden: mlpHidden ?? 4 * dModel, activation: .geluTanh,
                                     generator: &generator), "mlp")
        residualDropout = Dropout(p)
        super.init()
    }

    public var residualProjections: [Linear] { [attention.outputProjection, mlp.down] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        // h = x + attention(…) and ln_2(h) in one fused pass.
        let (h, normed) = mlpNorm.addingResidual(x, residualDropout(attention(attentionNorm(x))))
        return residualDropout.adding(to: h, mlp(normed))
    }
}
