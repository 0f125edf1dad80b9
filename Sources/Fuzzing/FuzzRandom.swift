import SpeechSynthesis

/// The fuzzers' seeded generator: SplitMix64 (SpeechSynthesis' `SeededRandom`) with the helpers mutations use.
/// Input K of seed S draws from its own stream, so one input can be made again alone
/// (`pretrain fuzz P --seed S --input K`) without replaying the inputs before it.
public struct FuzzRandom: RandomNumberGenerator {
    private var source: SeededRandom

    public init(seed: UInt64) { source = SeededRandom(seed: seed) }

    /// The stream of input `index` of a session seeded with `seed`.
    public init(seed: UInt64, input index: Int) {
        var mixer = SeededRandom(seed: seed ^ 0x9E37_79B9_7F4A_7C15)
        for _ in 0..<2 { _ = mixer.next() }
        source = SeededRandom(seed: mixer.next() ^ UInt64(truncatingIfNeeded: index) &* 0xD6E8_FEB8_6659_FD93)
    }

    public mutating func next() -> UInt64 { source.next() }

    /// A uniform integer in `range` (which must not be empty).
    public mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &self) }
    public mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }

    public mutating func pick<T>(_ items: [T]) -> T { items[int(0..<items.count)] }

    /// 1, 2, 3, ... with each next count half as likely: how many mutations to stack.
    public mutating func geometricCount(max: Int) -> Int {
        var count = 1
        while count < max && chance(0.5) { count += 1 }
        return count
    }
}
