/// GPT-2's pre-tokenisation: the text is cut into pieces, and BPE never merges across a cut. The pattern
/// (openai/gpt-2 encoder.py, also Hugging Face's ByteLevel pre-tokenizer) is
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// matched leftmost-first, one match after another. Its alternatives cover every character, so the pieces tile
/// the text. This is the same matcher written by hand over UTF-8 bytes: at each position the first alternative
/// that matches wins, and `\s+(?!\S)` leaves the last whitespace character of a run to start the next piece
/// (" world" keeps its space), except at the end of the text.
public enum GPT2PreTokenizer {
    private static let asciiClass: [UInt8] = (0..<128).map { ScalarClass.classify(UInt32($0)) }
    private static let apostrophe = UInt8(ascii: "'"), space = UInt8(ascii: " ")

    /// Appends the end offset of each piece of `bytes` (valid UTF-8) to `ends`; pieces are [previous end, end).
    public static func split(_ bytes: UnsafeBufferPointer<UInt8>, appendingEndsTo ends: inout [Int]) {
        asciiClass.withUnsafeBufferPointer { ascii in
            let n = bytes.count
            @inline(__always) func classAt(_ i: Int) -> (UInt8, Int) {
                let b = bytes[i]
                if b < 0x80 { return (ascii[Int(b)], 1) }
                let (value, length) = decodeScalar(bytes, at: i)
                return (ScalarClass.of(value), length)
            }
            /// End of the run of class `cls` that starts at `i`.
            @inline(__always) func runEnd(from i: Int, of cls: UInt8) -> Int {
                var j = i
                while j < n {
                    let b = bytes[j]
                    if b < 0x80 {
                        if ascii[Int(b)] != cls { break }
                        j += 1
                    } else {
                        let (c, length) = classAt(j)
                        if c != cls { break }
                        j += length
                    }
                }
                return j
            }

            var i = 0
            while i < n {
                let b = bytes[i]
                if b == apostrophe, let length = contractionLength(bytes, at: i) {
                    i += length
                    ends.append(i)
                    continue
                }
                let (cls, length) = classAt(i)
                if cls != ScalarClass.whitespace {
                    i = runEnd(from: i + length, of: cls)
                    ends.append(i)
                    continue
                }
                if b == space && i + 1 < n {
                    // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": a space joins the piece that follows it.
                    let (next, nextLength) = classAt(i + 1)
                    if next != ScalarClass.whitespace {
                        i = runEnd(from: i + 1 + nextLength, of: next)
                        ends.append(i)
                        continue
                    }
                }
                // "\s+(?!\S)|\s+": a whitespace run, less its last character when a non-space follows it.
                var lastStart = i
                var j = i + length
                while j < n {
                    let (c, l) = classAt(j)
                    if c != ScalarClass.whitespace { break }
                    lastStart = j
                    j += l
                }
                i = (j < n && lastStart > i) ? lastStart : j
                ends.append(i)
            }
        }
    }

    /// The length of "'s", "'t", "'re", "'ve", "'m", "'ll" or "'d" at `i` (case-sensitive, as in GPT-2), or nil.
    @inline(__always)
    private static func contractionLength(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        guard i + 1 < bytes.count else { return nil }
        switch bytes[i + 1] {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"): return 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"):
            return i + 2 < bytes.count && bytes[i + 2] == UInt8(ascii: "e") ? 3 : nil
        case UInt8(ascii: "l"):
            return i + 2 < bytes.count && bytes[i + 2] == UInt8(ascii: "l") ? 3 : nil
        default: return nil
        }
    }

    /// The pieces of `text` as strings (for tests and inspection; the encoder works on offsets).
    public static func pieces(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { bytes in
            var ends = [Int]()
            split(bytes, appendingEndsTo: &ends)
            var start = 0
            return ends.map { end in
                defer { start = end }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
            }
        }
    }
}
