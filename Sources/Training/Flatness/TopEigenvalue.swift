import Tensors

/// The Hessian eigenvalue of largest magnitude by power iteration: v ← Hv / ‖Hv‖ from a seeded Rademacher start,
/// the estimate the Rayleigh quotient vᵀHv of the unit v before each step. It stops once the estimate changes by
/// less than `tolerance` relative to itself, or after `iterations` products. The sign is kept: near a minimum the
/// dominant eigenvalue is the top one; a negative estimate means negative curvature dominates. Convergence is
/// geometric in |λ₂/λ₁|, so close top eigenvalues need more iterations.
public struct TopEigenvalue: Equatable {
    public let eigenvalue: Double
    /// |λ_k − λ_{k−1}| / |λ_k| of the last two estimates; nil after a single product.
    public let relativeChange: Double?
    /// Hessian-vector products taken.
    public let iterations: Int
    /// The last relative change fell below the tolerance.
    public let converged: Bool

    public static func estimate(dimension: Int, iterations: Int, tolerance: Double, seed: UInt64,
                                product: ([Float]) -> [Float], progress: ((Int) -> Void)? = nil) -> TopEigenvalue {
        precondition(iterations >= 1 && tolerance > 0, "power iteration needs iterations ≥ 1 and a positive tolerance")
        var generator = RandomGenerator(seed: seed)
        var v = FlatVector.rademacher(dimension, generator: &generator)
        normalize(&v, by: FlatVector.norm(v))
        var estimate = 0.0, change: Double?
        for iteration in 1...iterations {
            var w = product(v)
            let next = FlatVector.dot(v, w)
            if iteration > 1 { change = abs(next - estimate) / max(abs(next), .leastNormalMagnitude) }
            estimate = next
            progress?(iteration)
            let length = FlatVector.norm(w)
            if let change, change < tolerance {
                return TopEigenvalue(eigenvalue: estimate, relativeChange: change, iterations: iteration, converged: true)
            }
            // H v = 0: v lies in the null space and the estimate is exact.
            guard length > 0 else { return TopEigenvalue(eigenvalue: 0, relativeChange: change, iterations: iteration, converged: true) }
            normalize(&w, by: length)
            v = w
        }
        return TopEigenvalue(eigenvalue: estimate, relativeChange: change, iterations: iterations, converged: false)
    }

    private static func normalize(_ v: inout [Float], by length: Double) {
        for i in v.indices { v[i] = Float(Double(v[i]) / length) }
    }
}
