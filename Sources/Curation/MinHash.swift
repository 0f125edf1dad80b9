import Foundation

/// MinHash signatures of a text's shingles (Broder 1997): the fraction of equal signature entries of two texts
/// estimates the Jaccard similarity of their shingle sets. Shingles are `size` consecutive words (ASCII whitespace
/// separates words; ASCII letters are lowercased) or `size` consecutive characters (Unicode scalars, whitespace runs
/// made one space, ASCII lowercased); a text shorter than one shingle is one shingle of what it has. Each shingle is
/// hashed to 64 bits, and permutation i maps a hash x to the high 32 bits of a_i·x + b_i mod 2^64 (multiply-shift,
/// a_i odd; Dietzfelbinger et al. 1997), its parameters drawn by SplitMix64 from `seed`, so signatures are the same
/// in every run.
public struct MinHasher {
    public enum Shingle: String, CaseIterable { case words, characters }

    public let shingle: Shingle
    public let size: Int
    public let permutations: Int
    private let multipliers: [UInt64]
    private let offsets: [UInt64]
    private var shingleHashes: [UInt64] = []
    private var wordHashes: [UInt64] = []

    public init(shingle: Shingle, size: Int, permutations: Int, seed: UInt64) {
        precondition(size >= 1 && permutations >= 1, "shingle size and permutations must be positive")
        (self.shingle, self.size, self.permutations) = (shingle, size, permutations)
        var random = SplitMix64(state: seed)
        multipliers = (0..<permutations).map { _ in random.next() | 1 }
        offsets = (0..<permutations).map { _ in random.next() }
    }

    /// The signature of `text`, appended to `signature` (`permutations` values); false when the text has no
    /// shingle (no word), in which case nothing is appended.
    public mutating func appendSignature(of text: String, to signature: inout [UInt32]) -> Bool {
        shingleHashes.removeAll(keepingCapacity: true)
        switch shingle {
        case .words: wordShingles(text)
        case .characters: characterShingles(text)
        }
        guard !shingleHashes.isEmpty else { return false }
        let start = signature.count
        signature.append(contentsOf: repeatElement(UInt32.max, count: permutations))
        signature.withUnsafeMutableBufferPointer { all in
            let values = all.baseAddress! + start
            multipliers.withUnsafeBufferPointer { a in
                offsets.withUnsafeBufferPointer { b in
                    for x in shingleHashes {
                        for i in 0..<permutations {
                            let hashed = UInt32(truncatingIfNeeded: (a[i] &* x &+ b[i]) >> 32)
                            values[i] = min(values[i], hashed)
                        }
                    }
                }
            }
        }
        return true
    }

    /// The fraction of positions where two signatures agree: the estimate of their texts' Jaccard similarity.
    public static func estimatedJaccard(_ a: UnsafeBufferPointer<UInt32>, _ b: UnsafeBufferPointer<UInt32>) -> Double {
        precondition(a.count == b.count && !a.isEmpty, "signatures of different lengths")
        var equal = 0
        for i in 0..<a.count where a[i] == b[i] { equal += 1 }
        return Double(equal) / Double(a.count)
    }

    /// The hash of the `size` values from `start` (fewer at a short text's end).
    @inline(__always) private static func combine(_ values: UnsafeBufferPointer<UInt64>, _ start: Int, _ count: Int) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in start..<(start + count) { h = (h ^ values[index]) &* 0xFF51_AFD7_ED55_8CCD &+ 0x2545_F491_4F6C_DD1D }
        return mix64(h)
    }

    private mutating func wordShingles(_ text: String) {
        var text = text
        wordHashes.removeAll(keepingCapacity: true)
        text.withUTF8 { bytes in
            var index = 0
            let count = bytes.count
            while index < count {
                while index < count, isASCIISpace(bytes[index]) { index += 1 }
                let start = index
                while index < count, !isASCIISpace(bytes[index]) { index += 1 }
                if index > start { wordHashes.append(wordHash(bytes, start, index, foldCase: true)) }
            }
        }
        appendShingles(of: wordHashes)
    }

    private mutating func characterShingles(_ text: String) {
        wordHashes.removeAll(keepingCapacity: true)
        var inSpace = true   // leading whitespace is dropped
        for scalar in text.unicodeScalars {
            var value = scalar.value
            if value < 0x80, isASCIISpace(UInt8(value)) {
                if inSpace { continue }
                inSpace = true
                value = 0x20
            } else {
                inSpace = false
                if value &- 0x41 < 26 { value |= 0x20 }
            }
            wordHashes.append(UInt64(value))
        }
        if inSpace, !wordHashes.isEmpty { wordHashes.removeLast() }   // a trailing space
        appendShingles(of: wordHashes)
    }

    /// Shingles of `size` consecutive units (words or characters).
    private mutating func appendShingles(of units: [UInt64]) {
        guard !units.isEmpty else { return }
        let size = self.size
        units.withUnsafeBufferPointer { units in
            if units.count <= size {
                shingleHashes.append(Self.combine(units, 0, units.count))
            } else {
                for start in 0...(units.count - size) { shingleHashes.append(Self.combine(units, start, size)) }
            }
        }
    }
}

@inline(__always) func isASCIISpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }
