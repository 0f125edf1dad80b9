import Tensors

/// Affine map y = x·Wᵀ + b, as torch.nn.Linear.
/// x: (..., in) → y: (..., out); weight: (out, in), bias: (out).
public final class Linear: Module {
    public var weight: Tensor
    public var bias: Tensor?

    public var inFeatures: Int { weight.size(1) }
    public var outFeatures: Int { weight.size(0) }

    /// PyTorch's default initialisation: weight and bias uniform in ±1/√in.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: inout RandomGenerator) {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = Tensor.uniform([outFeatures, inFeatures], low: -bound, high: bound,
                                generator: &generator, requiresGrad: true)
        self.bias = bias ? Tensor.uniform([outFeatures], low: -bound, high: bound,
                                          generator: &generator, requiresGrad: true) : nil
        super.init()
    }

    /// Same, drawing from `Random.generator`.
    public convenience init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        self.init(inFeatures, outFeatures, bias: bias, generator: &Random.generator)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }

    /// y = f(x)·Wᵀ + b as one op (`activationLinear`): a feed-forward block's activation and second product, whose
    /// activation goes straight into the bf16 operand in native bf16.
    public func callAsFunction(_ x: Tensor, after activation: UnaryKind) -> Tensor {
        activationLinear(activation, x, weight: weight, bias: bias)
    }
}
