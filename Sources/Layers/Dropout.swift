import Tensors

/// Inverted dropout, active only in training mode: zeroes each element with probability `p` and scales
/// the survivors by 1/(1−p); the identity in evaluation mode or when p is 0. Draws from `Random.generator`.
public final class Dropout: Module {
    public let p: Float

    public init(_ p: Float) {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1), got \(p)")
        self.p = p
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining && p > 0 else { return x }
        return dropout(x, p: p)
    }

    /// residual + self(x), fused into one op when dropout is active (the same values as the two apart).
    public func adding(to residual: Tensor, _ x: Tensor) -> Tensor {
        guard isTraining && p > 0 else { return residual + x }
        return addDropout(residual, x, p: p, generator: &Random.generator)
    }
}
