import Tensors

/// Gated feed-forward block of Llama (Shazeer 2020, "GLU Variants Improve Transformer", eq. 6):
/// down(silu(gate(x)) ⊙ up(x)), no biases, Hugging Face keys `gate_proj`, `up_proj`, `down_proj`.
/// x: (..., dModel) → (..., dModel) through a hidden width `hidden`.
public final class SwiGLU: Module {
    @Key public var gate: Linear
    @Key public var up: Linear
    @Key public var down: Linear

    public init(dModel: Int, hidden: Int, generator: inout RandomGenerator) {
        _gate = Key(wrappedValue: Linear(dModel, hidden, bias: false, generator: &generator), "gate_proj")
        _up = Key(wrappedValue: Linear(dModel, hidden, bias: false, generator: &generator), "up_proj")
        _down = Key(wrappedValue: Linear(hidden, dModel, bias: false, generator: &generator), "down_proj")
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { down(silu(gate(x)) * up(x)) }
}
