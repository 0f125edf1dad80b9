/// The features of the language identifier: hashed character n-grams of a text, n = 1…maxOrder (Cavnar & Trenkle,
/// "N-Gram-Based Text Categorization", 1994; hashed as in fastText's language identifier).
///
/// The text is lowercased and every run of scalars that are not letters (digits, punctuation, spaces, symbols)
/// becomes one space, with a space before and after, so "Don't stop!" reads " don t stop " and the n-grams that
/// touch a space mark the starts and ends of words. Each n-gram is hashed with 64-bit FNV-1a, fixed for every
/// machine and run (Swift's `Hasher` is seeded per process): a model file stays valid because the hash is part of
/// its format. The hash runs over the n-gram's scalars from the last to the first, each as its four little-endian
/// bytes, so one pass backwards from each position gives the 1-gram, the 2-gram… up to maxOrder as it goes.
public struct CharacterNGrams: Sendable {
    /// Buckets the hashes fall into; a power of two, so a bucket is the hash's low bits after folding.
    public let buckets: Int
    public let maxOrder: Int

    public init(buckets: Int, maxOrder: Int) {
        precondition(buckets > 0 && buckets & (buckets - 1) == 0, "buckets must be a power of two, got \(buckets)")
        precondition(maxOrder >= 1, "maxOrder must be at least 1, got \(maxOrder)")
        (self.buckets, self.maxOrder) = (buckets, maxOrder)
    }

    /// The normalised scalars: lowercase letters, and one space for each run of anything else, at both ends too.
    public static func normalizedScalars(_ text: String) -> [Unicode.Scalar] {
        var scalars: [Unicode.Scalar] = [" "]
        scalars.reserveCapacity(text.utf8.count + 2)
        for scalar in text.lowercased().unicodeScalars {
            if scalar.properties.isAlphabetic {
                scalars.append(scalar)
            } else if scalars[scalars.count - 1] != " " {
                scalars.append(" ")
            }
        }
        if scalars[scalars.count - 1] != " " { scalars.append(" ") }
        return scalars
    }

    /// Calls `body` with the bucket of every n-gram of `text` (n = 1…maxOrder, each occurrence once) but the lone
    /// space, the only n-gram without a letter: a text with no letters has no features. Returns how many it reported.
    @discardableResult
    public func forEachBucket(in text: String, _ body: (Int) -> Void) -> Int {
        let scalars = Self.normalizedScalars(text)
        let mask = UInt64(buckets - 1)
        var reported = 0
        scalars.withUnsafeBufferPointer { scalars in
            for end in 0..<scalars.count {
                var hash: UInt64 = Self.fnvOffsetBasis
                for order in 1...maxOrder {
                    let index = end - order + 1
                    guard index >= 0 else { break }
                    hash = Self.fnvMix(hash, scalars[index].value)
                    // Spaces never repeat, so the lone space is the only n-gram without a letter.
                    if order == 1 && scalars[index] == " " { continue }
                    body(Int(truncatingIfNeeded: (hash ^ (hash >> 32)) & mask))
                    reported += 1
                }
            }
        }
        return reported
    }

    static let fnvOffsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01b3

    /// FNV-1a over the four little-endian bytes of `value`.
    @inline(__always)
    static func fnvMix(_ hash: UInt64, _ value: UInt32) -> UInt64 {
        var hash = hash
        hash = (hash ^ UInt64(value & 0xff)) &* fnvPrime
        hash = (hash ^ UInt64((value >> 8) & 0xff)) &* fnvPrime
        hash = (hash ^ UInt64((value >> 16) & 0xff)) &* fnvPrime
        hash = (hash ^ UInt64(value >> 24)) &* fnvPrime
        return hash
    }

    /// 64-bit FNV-1a of a string's UTF-8 bytes: the training split's stable key.
    public static func fnv1a(_ text: String) -> UInt64 {
        var hash = fnvOffsetBasis
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* fnvPrime }
        return hash
    }
}
