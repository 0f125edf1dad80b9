import Tensors

/// Root-mean-square normalisation over the last axis (Zhang & Sennrich 2019), as Llama's LlamaRMSNorm.
/// x: (..., dimension) → (..., dimension); weight starts at 1.
public final class RMSNorm: Module {
    public var weight: Tensor
    public let eps: Float

    public init(_ dimension: Int, eps: Float = 1e-5) {
        weight = Tensor(repeating: 1, shape: [dimension], requiresGrad: true)
        self.eps = eps
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { rmsNorm(x, weight: weight, eps: eps) }
}
