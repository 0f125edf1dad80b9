import Foundation

/// The corpus's only source of randomness. Every utterance draws from its own stream, seeded from the corpus seed
/// and a stable name ("ks/train/17"), so an utterance's content does not depend on which process renders it or
/// in what order: the corpus is the same for any --jobs.
public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A stream for `name` under `seed`. FNV-1a of the name (stable across runs, unlike Swift's `Hasher`),
    /// mixed with the seed through one SplitMix step.
    public init(seed: UInt64, name: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var mixer = SeededRandom(seed: seed ^ hash)
        state = mixer.next()
    }

    /// SplitMix64 (Steele, Lea & Flood 2014): passes BigCrush, one add and three multiplies per draw.
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits (same value on every platform, unlike `Double.random(in:using:)`,
    /// whose algorithm the standard library does not promise).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in `range`.
    public mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * unit()
    }

    /// Uniform integer in 0..<count (count > 0), by multiply-shift (Lemire); the tiny bias is irrelevant here.
    public mutating func index(_ count: Int) -> Int {
        precondition(count > 0, "index(_:) needs a positive count")
        return Int(next().multipliedFullWidth(by: UInt64(count)).high)
    }

    /// One element of a non-empty array.
    public mutating func pick<T>(_ items: [T]) -> T { items[index(items.count)] }

    /// Standard normal by Box–Muller (one of the pair; deterministic, which is all we need).
    public mutating func gaussian() -> Double {
        let u = max(unit(), 0x1p-60)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * unit())
    }
}

