// Hashes that are the same in every process and on every machine, for dedup keys, MinHash shingles and line counts.
// Swift's Hasher is seeded per process, so a set built with it would dedup differently on each run.

/// xxHash64 (Collet, XXH64 specification). Checked against libxxhash's values in StableHashTests.
public enum XXH64 {
    static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    public static func hash(_ string: String, seed: UInt64 = 0) -> UInt64 {
        var string = string
        return string.withUTF8 { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let count = bytes.count
        var offset = 0
        var h: UInt64
        @inline(__always) func read64(_ at: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        @inline(__always) func read32(_ at: Int) -> UInt64 { UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        if count >= 32 {
            var v1 = seed &+ prime1 &+ prime2, v2 = seed &+ prime2, v3 = seed, v4 = seed &- prime1
            while offset + 32 <= count {
                v1 = round(v1, read64(offset)); v2 = round(v2, read64(offset + 8))
                v3 = round(v3, read64(offset + 16)); v4 = round(v4, read64(offset + 24))
                offset += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = merge(h, v1); h = merge(h, v2); h = merge(h, v3); h = merge(h, v4)
        } else {
            h = seed &+ prime5
        }
        h = h &+ UInt64(count)
        while offset + 8 <= count {
            h ^= round(0, read64(offset))
            h = rotl(h, 27) &* prime1 &+ prime4
            offset += 8
        }
        if offset + 4 <= count {
            h ^= read32(offset) &* prime1
            h = rotl(h, 23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < count {
            h ^= UInt64(bytes[offset]) &* prime5
            h = rotl(h, 11) &* prime1
            offset += 1
        }
        return avalanche(h)
    }

    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
    @inline(__always) static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 { rotl(acc &+ input &* prime2, 31) &* prime1 }
    @inline(__always) static func merge(_ acc: UInt64, _ value: UInt64) -> UInt64 { (acc ^ round(0, value)) &* prime1 &+ prime4 }
    @inline(__always) static func avalanche(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33; h = h &* prime2
        h ^= h >> 29; h = h &* prime3
        h ^= h >> 32
        return h
    }
}

/// A 64-bit finaliser (MurmurHash3's fmix64): spreads the bits of a combined word or shingle hash.
@inline(__always) func mix64(_ value: UInt64) -> UInt64 {
    var h = value
    h ^= h >> 33; h = h &* 0xFF51_AFD7_ED55_8CCD
    h ^= h >> 33; h = h &* 0xC4CE_B9FE_1A85_EC53
    h ^= h >> 33
    return h
}

/// SplitMix64 (Steele et al. 2014): the seeded stream of MinHash permutation parameters.
public struct SplitMix64 {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The hash of a word (bytes `start..<end`), ASCII letters lowercased when `foldCase`: bytes are packed eight to a
/// 64-bit chunk and each chunk mixed in by a multiply, then the whole finalised (a per-byte FNV step is bound by the
/// multiply's latency, and words are hashed for every shingle and n-gram). Words of up to 8 bytes never collide.
@inline(__always) func wordHash(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, foldCase: Bool) -> UInt64 {
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15
    var chunk: UInt64 = 0
    var shift: UInt64 = 0
    for index in start..<end {
        var byte = bytes[index]
        if foldCase, byte &- UInt8(ascii: "A") < 26 { byte |= 0x20 }
        chunk |= UInt64(byte) << shift
        shift += 8
        if shift == 64 {
            h = (h ^ chunk) &* 0xFF51_AFD7_ED55_8CCD
            h = (h << 29) | (h >> 35)
            (chunk, shift) = (0, 0)
        }
    }
    return mix64((h ^ chunk) &* 0xC4CE_B9FE_1A85_EC53 ^ UInt64(end - start))
}
