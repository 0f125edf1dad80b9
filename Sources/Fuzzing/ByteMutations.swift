/// Mutations that know nothing of the format: bit flips, cuts, repeats, foreign bytes. Sizes stay bounded (an
/// input never grows past `maxBytes`), so a parser's memory is what the RSS bound measures, not the fuzzer's.
public enum ByteMutations {
    public static let maxBytes = 4 << 20

    /// Byte sequences that are not UTF-8: a stray continuation byte, an overlong NUL, a UTF-16 surrogate, a code
    /// point past U+10FFFF, a cut three-byte character, 0xFF, a NUL.
    public static let invalidUTF8: [[UInt8]] = [[0x80], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
                                                [0xE2, 0x82], [0xFF], [0x00], [0xFE, 0xFF]]

    /// Flips 1–8 random bits.
    public static func flipBits(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        guard !bytes.isEmpty else { return }
        for _ in 0..<random.int(1...8) { bytes[random.int(0..<bytes.count)] ^= UInt8(1) << UInt8(random.int(0..<8)) }
    }

    /// Sets 1–4 random bytes to values that end loops and fields: 0x00, 0xFF, 0x7F, 0x80, a random byte.
    public static func setBytes(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        guard !bytes.isEmpty else { return }
        for _ in 0..<random.int(1...4) {
            bytes[random.int(0..<bytes.count)] = random.pick([0x00, 0xFF, 0x7F, 0x80, UInt8(random.int(0...255))])
        }
    }

    /// Keeps a prefix (possibly empty).
    public static func truncate(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        guard !bytes.isEmpty else { return }
        bytes.removeLast(bytes.count - random.int(0..<bytes.count))
    }

    /// Copies a slice and inserts it elsewhere, up to 64 times in a row.
    public static func duplicateSlice(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        guard !bytes.isEmpty else { return }
        let start = random.int(0..<bytes.count), length = random.int(1...min(bytes.count - start, 4096))
        let slice = bytes[start..<start + length]
        let times = random.pick([1, 1, 2, 8, 64])
        guard bytes.count + times * length <= maxBytes else { return }
        let at = random.int(0...bytes.count)
        bytes.insert(contentsOf: Array([[UInt8]](repeating: Array(slice), count: times).joined()), at: at)
    }

    public static func deleteSlice(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        guard !bytes.isEmpty else { return }
        let start = random.int(0..<bytes.count)
        bytes.removeSubrange(start..<start + random.int(1...min(bytes.count - start, 256)))
    }

    /// Inserts a sequence that is not UTF-8.
    public static func insertInvalidUTF8(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        bytes.insert(contentsOf: random.pick(invalidUTF8), at: random.int(0...bytes.count))
    }

    /// Random bytes appended (trailing garbage after a valid file).
    public static func appendGarbage(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        bytes += (0..<random.pick([1, 7, 100, 4096])).map { _ in UInt8(random.int(0...255)) }
    }

    /// Lines of `other` spliced into `bytes` at a line boundary (another seed's sections).
    public static func splice(_ bytes: inout [UInt8], with other: [UInt8], _ random: inout FuzzRandom) {
        let lines = other.split(separator: 0x0A, omittingEmptySubsequences: false)
        guard !lines.isEmpty else { return }
        let start = random.int(0..<lines.count), end = random.int(start...lines.count)
        let piece = Array(lines[start..<end].joined(separator: [0x0A])) + [0x0A]
        let boundaries = [0] + bytes.indices.filter { bytes[$0] == 0x0A }.map { $0 + 1 }
        bytes.insert(contentsOf: piece, at: random.pick(boundaries))
    }

    /// Any of the above but splicing, 1–4 stacked: the havoc stage of AFL.
    public static func havoc(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        let operations: [(inout [UInt8], inout FuzzRandom) -> Void] = [flipBits, setBytes, truncate, duplicateSlice,
                                                                         deleteSlice, insertInvalidUTF8, appendGarbage]
        for _ in 0..<random.geometricCount(max: 4) { random.pick(operations)(&bytes, &random) }
    }
}

/// Little-endian fields of binary headers set to values that break size arithmetic.
public enum FieldMutations {
    /// 32-bit values: zero, one, sign boundaries, all ones, a power of two past any file.
    public static let interesting32: [UInt32] = [0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                                                 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE, 0x4000_0000, 44_100, 16_000]
    public static let interesting64: [UInt64] = [0, 1, 7, 8, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF,
                                                 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 100_000_000, 100_000_001]

    public static func set32(_ bytes: inout [UInt8], at offset: Int, _ value: UInt32) {
        for k in 0..<4 where offset + k < bytes.count { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * k)) }
    }

    public static func set16(_ bytes: inout [UInt8], at offset: Int, _ value: UInt16) {
        for k in 0..<2 where offset + k < bytes.count { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * k)) }
    }

    public static func set64(_ bytes: inout [UInt8], at offset: Int, _ value: UInt64) {
        for k in 0..<8 where offset + k < bytes.count { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * k)) }
    }

    public static func read32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | (offset + $1 < bytes.count ? UInt32(bytes[offset + $1]) << (8 * UInt32($1)) : 0) }
    }

    /// A 32-bit field near its current value or at an interesting one.
    public static func perturb32(_ bytes: inout [UInt8], at offset: Int, _ random: inout FuzzRandom) {
        let current = read32(bytes, at: offset)
        let value: UInt32 = random.chance(0.5) ? random.pick(interesting32)
            : current &+ UInt32(bitPattern: Int32(random.int(-4...4)))
        set32(&bytes, at: offset, value)
    }
}
