import Tensors

/// Transformer feed-forward block: c_fc → activation → c_proj (GPT-2 keys `c_fc`, `c_proj`).
/// x: (..., dModel) → (..., dModel), through a hidden width `hidden` (usually 4·dModel).
public final class MLP: Module {
    public enum Activation {
        /// Exact GELU, 0.5·x·(1 + erf(x/√2)) (BERT).
        case gelu
        /// Tanh approximation of GELU (GPT-2's `gelu_new`).
        case geluTanh
        case relu
    }

    @Key public var up: Linear
    @Key public var down: Linear
    public let activation: Activation

    public init(dModel: Int, hidden: Int, activation: Activation = .geluTanh, bias: Bool = true,
                generator: inout RandomGenerator) {
        self.activation = activation
        _up = Key(wrappedValue: Linear(dModel, hidden, bias: bias, generator: &generator), "c_fc")
        _down = Key(wrappedValue: Linear(hidden, dModel, bias: bias, generator: &generator), "c_proj")
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let hidden = up(x)
        switch activation {
        case .gelu: return down(hidden, after: .geluErf)
        case .geluTanh: return down(hidden, after: .geluTanh)
        case .relu: return down(hidden, after: .relu)
        }
    }
}
