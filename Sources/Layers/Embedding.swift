import Tensors

/// Lookup table, as torch.nn.Embedding. indices: (...) → (..., dimension); weight: (count, dimension).
public final class Embedding: Module {
    public var weight: Tensor

    public var count: Int { weight.size(0) }
    public var dimension: Int { weight.size(1) }

    /// PyTorch's default initialisation: N(0, 1).
    public init(_ count: Int, _ dimension: Int, generator: inout RandomGenerator) {
        weight = Tensor.normal([count, dimension], generator: &generator, requiresGrad: true)
        super.init()
    }

    public convenience init(_ count: Int, _ dimension: Int) {
        self.init(count, dimension, generator: &Random.generator)
    }

    public func callAsFunction(_ indices: IntTensor) -> Tensor { embedding(weight, indices: indices) }
}
