import Tensors

/// Hutchinson's estimator of a Hessian's trace (Hutchinson 1990): tr H = E[vᵀHv] for v with independent Rademacher
/// (±1) entries. S draws give the mean and its 95 % normal interval, mean ± 1.96 · sd / √S (sd the draws' standard
/// deviation with S − 1 in the denominator). One draw's variance is 2 Σ_{i≠j} H_ij²: the off-diagonal mass sets how
/// many draws a tight interval needs.
public struct HutchinsonTrace: Equatable {
    /// vᵀHv of each draw, in order.
    public let samples: [Double]

    public init(samples: [Double]) {
        precondition(samples.count >= 2, "a Hutchinson interval needs at least two draws")
        self.samples = samples
    }

    public var mean: Double { samples.reduce(0, +) / Double(samples.count) }

    public var standardDeviation: Double {
        let mean = mean
        let squares = samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (squares / Double(samples.count - 1)).squareRoot()
    }

    /// 1.96 · sd / √S.
    public var halfWidth: Double { 1.96 * standardDeviation / Double(samples.count).squareRoot() }
    public var lower: Double { mean - halfWidth }
    public var upper: Double { mean + halfWidth }

    /// `samples` draws of vᵀ·product(v), v Rademacher from a generator seeded with `seed`.
    public static func estimate(dimension: Int, samples: Int, seed: UInt64, product: ([Float]) -> [Float],
                                progress: ((Int) -> Void)? = nil) -> HutchinsonTrace {
        var generator = RandomGenerator(seed: seed)
        var draws: [Double] = []
        for draw in 0..<samples {
            let v = FlatVector.rademacher(dimension, generator: &generator)
            draws.append(FlatVector.dot(v, product(v)))
            progress?(draw + 1)
        }
        return HutchinsonTrace(samples: draws)
    }
}
