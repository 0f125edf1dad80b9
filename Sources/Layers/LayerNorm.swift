import Tensors

/// Layer normalisation over the last axis (Ba et al. 2016), as torch.nn.LayerNorm.
/// x: (..., dimension) → (..., dimension); weight starts at 1, bias at 0.
public final class LayerNorm: Module {
    public var weight: Tensor
    public var bias: Tensor?
    public let eps: Float

    public init(_ dimension: Int, eps: Float = 1e-5, bias: Bool = true) {
        weight = Tensor(repeating: 1, shape: [dimension], requiresGrad: true)
        self.bias = bias ? Tensor(zeros: [dimension], requiresGrad: true) : nil
        self.eps = eps
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }

    /// x + y and this norm of it, in one fused pass (`addLayerNorm`).
    public func addingResidual(_ x: Tensor, _ y: Tensor) -> (sum: Tensor, normed: Tensor) {
        addLayerNorm(x, y, weight: weight, bias: bias, eps: eps)
    }
}
