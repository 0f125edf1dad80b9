import Foundation

/// `quality`: the document-level rules of Gopher (Rae et al. 2021, appendix A) and C4 (Raffel et al. 2020, §2.2),
/// each threshold a key. Every value is written into meta (names below) so a later `filter` or the report can use
/// it; a document failing any check is dropped, the reason the key of the first failed check ("min_words") and the detail all of them
/// ("quality: mean word length 1.9 < 3"). A key set to null turns its check off (the value is still written).
///
/// | key [default] | meta key | what |
/// |---|---|---|
/// | `min_words` [50], `max_words` [100000] | `quality_word_count` | words: runs of non-whitespace |
/// | `min_mean_word_length` [3], `max_mean_word_length` [10] | `quality_mean_word_length` | characters (Unicode scalars) per word |
/// | `max_symbol_word_ratio` [0.1] | `quality_symbol_word_ratio` | (`#` + `...` + `…`) per word |
/// | `min_alpha_word_fraction` [0.8] | `quality_alpha_word_fraction` | words with a letter (ASCII letter or any non-ASCII character) |
/// | `min_terminal_punctuation_fraction` [null] | `quality_terminal_punctuation_fraction` | non-blank lines ending in . ! ? " ' ” ’ (C4) |
/// | `max_duplicate_line_fraction` [0.3] | `quality_duplicate_line_fraction` | non-blank lines that repeat an earlier line |
/// | `max_top_2gram_fraction` [0.20], `max_top_3gram_fraction` [0.18], `max_top_4gram_fraction` [0.16] | `quality_top_{2,3,4}gram_fraction` | characters in the most frequent word n-gram (its length with single spaces × its count) over the text's characters |
///
/// Values are rounded to 4 decimals before they are compared, so meta tells exactly why a document went.
public final class QualityHeuristics: CurationStep {
    public static let kind = "quality"
    public static let keys = ["min_words", "max_words", "min_mean_word_length", "max_mean_word_length", "max_symbol_word_ratio",
                              "min_alpha_word_fraction", "min_terminal_punctuation_fraction", "max_duplicate_line_fraction",
                              "max_top_2gram_fraction", "max_top_3gram_fraction", "max_top_4gram_fraction"]

    /// One check: a meta value against a bound.
    struct Check {
        let name: String        // its key, the reason counted when it fails
        let label: String       // words for the detail
        let metaKey: String
        let bound: Double
        let isMinimum: Bool
    }

    private(set) var checks: [Check] = []
    private var words: [(hash: UInt64, length: Int32)] = []
    private var lengthPrefix: [Int] = []
    private var table = CountingTable()

    public init(settings: StepSettings) throws {
        func bound(_ key: String, _ defaultValue: Double?, _ label: String, _ metaKey: String, minimum: Bool) throws {
            let value = settings.has(key) ? try settings.double(key) : defaultValue
            guard let value else { return }
            guard value >= 0 else { throw settings.problem(key, "must be ≥ 0, got \(value)") }
            checks.append(Check(name: key, label: label, metaKey: metaKey, bound: value, isMinimum: minimum))
        }
        try bound("min_words", 50, "word count", "quality_word_count", minimum: true)
        try bound("max_words", 100_000, "word count", "quality_word_count", minimum: false)
        try bound("min_mean_word_length", 3, "mean word length", "quality_mean_word_length", minimum: true)
        try bound("max_mean_word_length", 10, "mean word length", "quality_mean_word_length", minimum: false)
        try bound("max_symbol_word_ratio", 0.1, "symbol-to-word ratio", "quality_symbol_word_ratio", minimum: false)
        try bound("min_alpha_word_fraction", 0.8, "fraction of words with a letter", "quality_alpha_word_fraction", minimum: true)
        try bound("min_terminal_punctuation_fraction", nil, "fraction of lines ending in punctuation",
                  "quality_terminal_punctuation_fraction", minimum: true)
        try bound("max_duplicate_line_fraction", 0.3, "duplicate line fraction", "quality_duplicate_line_fraction", minimum: false)
        for n in 2...4 {
            try bound("max_top_\(n)gram_fraction", [0.20, 0.18, 0.16][n - 2], "top \(n)-gram character fraction",
                      "quality_top_\(n)gram_fraction", minimum: false)
        }
        for (minimum, maximum) in [("min_words", "max_words"), ("min_mean_word_length", "max_mean_word_length")] {
            let low = checks.first { $0.name == minimum }?.bound
            let high = checks.first { $0.name == maximum }?.bound
            if let low, let high, low > high { throw settings.problem(minimum, "(\(format(low))) is above \(maximum) (\(format(high)))") }
        }
    }

    public func apply(to document: inout CurationDocument) throws -> StepVerdict {
        var text = document.text
        let values = text.withUTF8 { measure($0) }
        for (key, value) in values { document.meta[key] = .number(value) }
        var failed: [Check] = [], details: [String] = []
        for check in checks {
            let value = values.first { $0.key == check.metaKey }!.value
            if check.isMinimum ? value < check.bound : value > check.bound {
                failed.append(check)
                details.append("\(check.label) \(format(value)) \(check.isMinimum ? "<" : ">") \(format(check.bound))")
            }
        }
        guard let first = failed.first else { return .keep }
        return .drop(DropReason(first.name, "quality: " + details.joined(separator: "; ")))
    }

    /// The meta values of one text, rounded to 4 decimals.
    func measure(_ bytes: UnsafeBufferPointer<UInt8>) -> [(key: String, value: Double)] {
        let count = bytes.count
        // Words, with their hash, length in characters and whether they hold a letter.
        words.removeAll(keepingCapacity: true)
        var characters = 0, alphaWords = 0, symbols = 0
        var index = 0
        while index < count {
            let byte = bytes[index]
            if isASCIISpace(byte) { characters += 1; index += 1; continue }
            let start = index
            var length = 0, hasLetter = false
            while index < count, !isASCIISpace(bytes[index]) {
                let byte = bytes[index]
                if byte & 0xC0 != 0x80 { length += 1 }
                if byte >= 0x80 || (byte | 0x20) &- UInt8(ascii: "a") < 26 { hasLetter = true }
                if byte == UInt8(ascii: "#") { symbols += 1 }
                else if byte == UInt8(ascii: "."), index + 2 < count, bytes[index + 1] == byte, bytes[index + 2] == byte {
                    symbols += 1
                    index += 2
                    length += 2
                } else if byte == 0xE2, index + 2 < count, bytes[index + 1] == 0x80, bytes[index + 2] == 0xA6 { symbols += 1 }   // …
                index += 1
            }
            characters += length
            if hasLetter { alphaWords += 1 }
            words.append((wordHash(bytes, start, index, foldCase: false), Int32(length)))
        }
        let wordCount = words.count
        let wordCharacters = words.reduce(0) { $0 + Int($1.length) }

        // Lines: non-blank ones, those ending in terminal punctuation, and repeats of an earlier one.
        var lines = 0, terminal = 0, duplicates = 0
        table.reset(expected: count / 2 + 1)   // a non-blank line takes at least 2 bytes with its newline
        var lineStart = 0
        while lineStart < count {
            var lineEnd = lineStart
            while lineEnd < count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            var (from, to) = (lineStart, lineEnd)
            while from < to, isASCIISpace(bytes[from]) { from += 1 }
            while to > from, isASCIISpace(bytes[to - 1]) { to -= 1 }
            if from < to {
                lines += 1
                let last = bytes[to - 1]
                if last == UInt8(ascii: ".") || last == UInt8(ascii: "!") || last == UInt8(ascii: "?") || last == UInt8(ascii: "\"")
                    || last == UInt8(ascii: "'")
                    || (to - from >= 3 && bytes[to - 3] == 0xE2 && bytes[to - 2] == 0x80 && (last == 0x9D || last == 0x99)) {
                    terminal += 1
                }
                let hash = XXH64.hash(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[from..<to])))
                if table.increment(hash) > 1 { duplicates += 1 }
            }
            lineStart = lineEnd + 1
        }

        // The most frequent word n-gram for n = 2, 3, 4 (ties: the longer), as a fraction of the text's characters.
        var topFractions: [Double] = []
        lengthPrefix.removeAll(keepingCapacity: true)
        lengthPrefix.append(0)
        for word in words { lengthPrefix.append(lengthPrefix.last! + Int(word.length)) }
        for n in 2...4 {
            guard wordCount >= n, characters > 0 else { topFractions.append(0); continue }
            table.reset(expected: wordCount)
            var bestCount: UInt32 = 0, bestLength = 0
            for start in 0...(wordCount - n) {
                var h: UInt64 = UInt64(n)
                for offset in 0..<n { h = (h ^ words[start + offset].hash) &* 0x9E37_79B9_7F4A_7C15 }
                let seen = table.increment(mix64(h))
                let length = lengthPrefix[start + n] - lengthPrefix[start] + n - 1
                if seen > bestCount || (seen == bestCount && length > bestLength) { (bestCount, bestLength) = (seen, length) }
            }
            topFractions.append(Double(Int(bestCount) * bestLength) / Double(characters))
        }

        func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
        func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }
        return [
            ("quality_word_count", Double(wordCount)),
            ("quality_mean_word_length", rounded(ratio(wordCharacters, wordCount))),
            ("quality_symbol_word_ratio", rounded(ratio(symbols, wordCount))),
            ("quality_alpha_word_fraction", rounded(ratio(alphaWords, wordCount))),
            ("quality_terminal_punctuation_fraction", rounded(ratio(terminal, lines))),
            ("quality_duplicate_line_fraction", rounded(ratio(duplicates, lines))),
            ("quality_top_2gram_fraction", rounded(topFractions[0])),
            ("quality_top_3gram_fraction", rounded(topFractions[1])),
            ("quality_top_4gram_fraction", rounded(topFractions[2])),
        ]
    }
}

/// A number for a sentence: an integer without a fraction, others with up to 4 significant digits.
func format(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return String(format: "%.4g", value)
}
