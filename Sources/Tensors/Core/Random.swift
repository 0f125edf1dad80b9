/// Seeded xoshiro256** generator. Values are drawn sequentially on one thread, so results never depend on
/// the thread count. `state` can be saved in a checkpoint and restored for exact resume.
public struct RandomGenerator {
    public var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var mix = seed
        func splitMix() -> UInt64 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public var stateWords: [UInt64] {
        get { [state.0, state.1, state.2, state.3] }
        set {
            precondition(newValue.count == 4, "RandomGenerator state has 4 words")
            state = (newValue[0], newValue[1], newValue[2], newValue[3])
        }
    }

    @inline(__always) static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    @inline(__always) public mutating func next() -> UInt64 {
        let result = RandomGenerator.rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = RandomGenerator.rotl(state.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inline(__always) public mutating func nextFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform integer in 0..<bound.
    @inline(__always) public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        return Int(next() % UInt64(bound))
    }

    /// Standard normal (Box–Muller, one value per call; Double inside for the tails).
    @inline(__always) public mutating func nextNormal() -> Float {
        let u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let radius = (-2.0 * log(max(u1, 1e-300))).squareRoot()
        return Float(radius * cos(2.0 * Double.pi * u2))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The engine's default generator (initialisers, dropout, masking draw from it unless given one).
public enum Random {
    nonisolated(unsafe) public static var generator = RandomGenerator(seed: 0)
    public static func seed(_ seed: UInt64) { generator = RandomGenerator(seed: seed) }
}

extension Tensor {
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                               generator: inout RandomGenerator, requiresGrad: Bool = false) -> Tensor {
        let result = Tensor(uninitialized: shape)
        let p = result.data
        for i in 0..<result.count { p[i] = low + (high - low) * generator.nextFloat() }
        result.requiresGrad = requiresGrad
        return result
    }

    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                              generator: inout RandomGenerator, requiresGrad: Bool = false) -> Tensor {
        let result = Tensor(uninitialized: shape)
        let p = result.data
        for i in 0..<result.count { p[i] = mean + std * generator.nextNormal() }
        result.requiresGrad = requiresGrad
        return result
    }

    /// 1 with probability `p`, else 0.
    public static func bernoulli(_ shape: [Int], p: Float, generator: inout RandomGenerator) -> Tensor {
        let result = Tensor(uninitialized: shape)
        let out = result.data
        for i in 0..<result.count { out[i] = generator.nextFloat() < p ? 1 : 0 }
        return result
    }

    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, requiresGrad: Bool = false) -> Tensor {
        uniform(shape, low: low, high: high, generator: &Random.generator, requiresGrad: requiresGrad)
    }

    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, requiresGrad: Bool = false) -> Tensor {
        normal(shape, mean: mean, std: std, generator: &Random.generator, requiresGrad: requiresGrad)
    }
}
