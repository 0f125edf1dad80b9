/// A token that is matched verbatim in the text before pre-tokenisation (Hugging Face `added_tokens`):
/// `<|endoftext|>`, `[MASK]`, `[CLS]`, ... Its text never reaches the BPE or WordPiece model.
public struct AddedToken: Equatable, Sendable {
    public var id: Int
    public var content: String
    /// Special tokens are control symbols (end of text, mask); non-special added tokens are ordinary vocabulary.
    public var special: Bool
    // Kept so that a tokenizer.json round-trips; matching here is always the exact content.
    public var singleWord = false, leftStrip = false, rightStrip = false, normalized = false

    public init(id: Int, content: String, special: Bool = true) {
        self.id = id
        self.content = content
        self.special = special
    }
}

/// Finds added tokens in UTF-8 text, leftmost first and longest first at the same position (as Hugging Face's
/// Aho-Corasick matcher with LeftmostLongest does). Scanning costs one table lookup per byte when no token
/// starts with that byte.
struct AddedTokenMatcher {
    private var startsToken = [Bool](repeating: false, count: 256)
    private var candidates: [(bytes: [UInt8], id: Int)] = []  // longest first

    init(_ tokens: [AddedToken]) {
        for token in tokens where !token.content.isEmpty {
            let bytes = Array(token.content.utf8)
            candidates.append((bytes, token.id))
            startsToken[Int(bytes[0])] = true
        }
        candidates.sort { $0.bytes.count > $1.bytes.count }
    }

    var isEmpty: Bool { candidates.isEmpty }

    /// Calls `text(range)` for each stretch of ordinary text and `token(id)` for each added token, in order.
    @inline(__always)
    func split(_ bytes: UnsafeBufferPointer<UInt8>, text: (Range<Int>) -> Void, token: (Int) -> Void) {
        if candidates.isEmpty {
            if !bytes.isEmpty { text(0..<bytes.count) }
            return
        }
        var start = 0, i = 0
        let n = bytes.count
        while i < n {
            if startsToken[Int(bytes[i])], let (length, id) = match(bytes, at: i) {
                if i > start { text(start..<i) }
                token(id)
                i += length
                start = i
            } else {
                i += 1
            }
        }
        if n > start { text(start..<n) }
    }

    private func match(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (Int, Int)? {
        for candidate in candidates where candidate.bytes.count <= bytes.count - i {
            var equal = true
            for k in 0..<candidate.bytes.count where bytes[i + k] != candidate.bytes[k] {
                equal = false
                break
            }
            if equal { return (candidate.bytes.count, candidate.id) }
        }
        return nil
    }
}
