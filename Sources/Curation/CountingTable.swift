/// Counts of 64-bit keys in open addressing, cleared in O(1) between documents by a generation stamp: the quality
/// step counts every word n-gram and line of each document, and a Dictionary's allocation and hashing per document
/// cost more than the counting.
struct CountingTable {
    private var keys: [UInt64] = []
    private var counts: [UInt32] = []
    private var stamps: [UInt32] = []
    private var generation: UInt32 = 0
    private var mask = 0

    /// Empties the table, sized for up to `expected` distinct keys.
    mutating func reset(expected: Int) {
        let capacity = max(16, (expected * 2).nextPowerOfTwo)
        if capacity > keys.count {
            keys = [UInt64](repeating: 0, count: capacity)
            counts = [UInt32](repeating: 0, count: capacity)
            stamps = [UInt32](repeating: 0, count: capacity)
            generation = 0
        }
        mask = keys.count - 1
        generation &+= 1
        if generation == 0 {   // wrapped: stale stamps could match
            for index in stamps.indices { stamps[index] = 0 }
            generation = 1
        }
    }

    /// Adds one to `key`'s count and returns the new count. `key` should be well mixed (its low bits pick the slot).
    @inline(__always) mutating func increment(_ key: UInt64) -> UInt32 {
        var slot = Int(truncatingIfNeeded: key) & mask
        while true {
            if stamps[slot] != generation {
                stamps[slot] = generation
                keys[slot] = key
                counts[slot] = 1
                return 1
            }
            if keys[slot] == key {
                counts[slot] += 1
                return counts[slot]
            }
            slot = (slot + 1) & mask
        }
    }
}

extension Int {
    /// The smallest power of two ≥ self (1 for values ≤ 1).
    var nextPowerOfTwo: Int { self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}
