/// Mutations of JSON and YAML text that keep most of the structure, so that the input gets past the tokenizer of
/// the format and reaches the code that reads values: numbers replaced by extreme ones, strings by odd ones, lines
/// repeated (duplicate keys and sections), swapped or dropped, values nested thousands deep, YAML aliases.
public enum TextMutations {
    /// Numbers at the edges of Int32, Int64, Double and beyond; negative sizes; fractions where integers go.
    public static let extremeNumbers = [
        "0", "-0", "1", "-1", "2", "-7", "0.5", "1.5", "-2.5", "2147483647", "2147483648", "-2147483649", "4294967296",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
        "99999999999999999999999999", "1e308", "1e309", "-1e309", "1e-400", "4.9e-324", "1e9", "100000000", "65536",
        "3.4028235e38", "01", "0x10", "1_000",
    ]
    public static let nonFiniteJSON = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "nan", "inf"]

    /// A named mutation of a file's bytes.
    public typealias Named = (name: String, mutate: (inout [UInt8], inout FuzzRandom) -> Void)

    /// The mutations every JSON parser gets, in this order: values (numbers, non-finite numbers, strings), lines,
    /// nesting, invalid UTF-8. A target adds its own (byte havoc) around them.
    public static let json: [Named] = [
        ("numbers", { replaceNumber(&$0, with: extremeNumbers, &$1) }),
        ("non-finite", { replaceNumber(&$0, with: nonFiniteJSON, &$1) }),
        ("strings", { replaceString(&$0, &$1) }),
        ("lines", { bytes, random in random.pick([duplicateLines, swapLines, deleteLines])(&bytes, &random) }),
        ("deep-nesting", { nestJSON(&$0, &$1) }),
        ("invalid-utf8", { ByteMutations.insertInvalidUTF8(&$0, &$1) }),
    ]
    public static let nonFiniteYAML = [".nan", ".NaN", ".inf", "-.inf", "+.inf", ".Inf", "1e999", "-1e999"]
    public static let oddStrings = ["", " ", "\\u0000", "\\ud800", "\\udc00x", "\\uD83D\\uDE00", "\u{1F600}", "é", "a\\nb",
                                    "../../../../etc/passwd", "/dev/zero", String(repeating: "x", count: 5000),
                                    "<|endoftext|>", "[MASK]", "\\\"", "\\\\", "Ġ", "##"]

    /// Byte ranges of number literals: a digit (or a minus and a digit) and what follows of [0-9.eE+-].
    static func numberRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var i = 0
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        while i < bytes.count {
            let startsNumber = isDigit(bytes[i]) || (bytes[i] == 0x2D && i + 1 < bytes.count && isDigit(bytes[i + 1]))
            let afterWord = i > 0 && (isDigit(bytes[i - 1]) || (bytes[i - 1] | 0x20 >= 0x61 && bytes[i - 1] | 0x20 <= 0x7A) || bytes[i - 1] == 0x5F)
            if startsNumber && !afterWord {
                var end = i + 1
                while end < bytes.count, isDigit(bytes[end]) || [0x2E, 0x65, 0x45, 0x2B, 0x2D].contains(bytes[end]) { end += 1 }
                ranges.append(i..<end)
                i = end
            } else {
                i += 1
            }
        }
        return ranges
    }

    /// Byte ranges of the insides of double-quoted strings.
    static func stringRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x22 {
                var end = i + 1
                while end < bytes.count, bytes[end] != 0x22 { end += bytes[end] == 0x5C ? 2 : 1 }
                ranges.append(i + 1..<min(end, bytes.count))
                i = end + 1
            } else {
                i += 1
            }
        }
        return ranges
    }

    /// Replaces one number literal with one of `replacements`.
    public static func replaceNumber(_ bytes: inout [UInt8], with replacements: [String], _ random: inout FuzzRandom) {
        let ranges = numberRanges(bytes)
        guard !ranges.isEmpty else { return }
        bytes.replaceSubrange(random.pick(ranges), with: Array(random.pick(replacements).utf8))
    }

    /// Replaces the inside of one string literal with an odd string (escapes, surrogates, long, empty).
    public static func replaceString(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        let ranges = stringRanges(bytes)
        guard !ranges.isEmpty else { return }
        bytes.replaceSubrange(random.pick(ranges), with: Array(random.pick(oddStrings).utf8))
    }

    /// Line ranges (each without its newline).
    static func lineRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        for (i, byte) in bytes.enumerated() where byte == 0x0A {
            ranges.append(start..<i)
            start = i + 1
        }
        if start < bytes.count { ranges.append(start..<bytes.count) }
        return ranges
    }

    /// Repeats a block of 1–8 lines right after itself (a duplicate key, a section twice).
    public static func duplicateLines(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        let lines = lineRanges(bytes)
        guard !lines.isEmpty else { return }
        let first = random.int(0..<lines.count), last = min(lines.count - 1, first + random.int(0...7))
        let block = Array(bytes[lines[first].lowerBound..<lines[last].upperBound]) + [0x0A]
        let at = min(bytes.count, lines[last].upperBound + 1)
        bytes.insert(contentsOf: block, at: at)
    }

    public static func deleteLines(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        let lines = lineRanges(bytes)
        guard !lines.isEmpty else { return }
        let first = random.int(0..<lines.count), last = min(lines.count - 1, first + random.int(0...3))
        bytes.removeSubrange(lines[first].lowerBound..<min(bytes.count, lines[last].upperBound + 1))
    }

    /// Swaps two lines (fields out of order, a key moved into another section).
    public static func swapLines(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        let lines = lineRanges(bytes)
        guard lines.count >= 2 else { return }
        var a = random.int(0..<lines.count), b = random.int(0..<lines.count)
        if a == b { return }
        if a > b { swap(&a, &b) }
        let (first, second) = (Array(bytes[lines[a]]), Array(bytes[lines[b]]))
        bytes.replaceSubrange(lines[b], with: first)
        bytes.replaceSubrange(lines[a], with: second)
    }

    /// JSON nested `depth` deep: arrays, objects, or both alternating.
    public static func deepJSON(depth: Int, _ random: inout FuzzRandom) -> String {
        switch random.int(0..<3) {
        case 0: return repeated("[", depth) + "1" + repeated("]", depth)
        case 1: return repeated("{\"a\":", depth) + "1" + repeated("}", depth)
        default: return repeated("[{\"a\":", depth / 2) + "1" + repeated("}]", depth / 2)
        }
    }

    public static let depths = [10, 100, 1000, 10_000, 100_000]

    /// Replaces one JSON value (a number or a string) with a deeply nested one.
    public static func nestJSON(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        let ranges = numberRanges(bytes) + stringRanges(bytes).map { $0.lowerBound - 1..<min(bytes.count, $0.upperBound + 1) }
        guard !ranges.isEmpty else { return }
        bytes.replaceSubrange(random.pick(ranges), with: Array(deepJSON(depth: random.pick(depths), &random).utf8))
    }

    /// `unit` `count` times, built as bytes: `String(repeating:count:)` appends one copy at a time, which was most
    /// of the recipe fuzzer's time at depth 10⁵.
    static func repeated(_ unit: String, _ count: Int) -> String {
        guard count > 0 else { return "" }
        let total = unit.utf8.count * count
        var result = Array(unit.utf8)
        result.reserveCapacity(total)
        while 2 * result.count <= total { result.append(contentsOf: result) }  // whole copies, doubling
        result.append(contentsOf: result[0..<total - result.count])
        return String(decoding: result, as: UTF8.self)
    }

    /// A YAML value nested `depth` deep: flow sequences or mappings, or block sequences by indentation.
    public static func deepYAML(depth: Int, _ random: inout FuzzRandom) -> String {
        switch random.int(0..<3) {
        case 0: return repeated("[", depth) + "1" + repeated("]", depth)
        case 1: return repeated("{a: ", depth) + "1" + repeated("}", depth)
        default:
            let lines = (0..<min(depth, 2000)).map { repeated(" ", 2 * $0 + 2) + "-" }
            return "\n" + lines.joined(separator: "\n") + " 1"
        }
    }

    /// Replaces the value after one `key: ` with a deeply nested value.
    public static func nestYAML(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        let values = yamlValueRanges(bytes)
        guard !values.isEmpty else { return }
        bytes.replaceSubrange(random.pick(values), with: Array(deepYAML(depth: random.pick(depths), &random).utf8))
    }

    /// Byte ranges of plain scalar values after `key: ` up to the end of the line or a comment.
    static func yamlValueRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        lineRanges(bytes).compactMap { line -> Range<Int>? in
            guard let colon = bytes[line].firstIndex(of: 0x3A), colon + 1 < line.upperBound, bytes[colon + 1] == 0x20 else { return nil }
            let end = bytes[colon..<line.upperBound].firstIndex(of: 0x23) ?? line.upperBound  // '#'
            return colon + 2 < end ? colon + 2..<end : nil
        }
    }

    /// Replaces one YAML scalar with one of `replacements`.
    public static func replaceYAMLValue(_ bytes: inout [UInt8], with replacements: [String], _ random: inout FuzzRandom) {
        let values = yamlValueRanges(bytes)
        guard !values.isEmpty else { return }
        bytes.replaceSubrange(random.pick(values), with: Array(random.pick(replacements).utf8))
    }

    /// YAML anchors and aliases: a "billion laughs" table `levels` deep under a new key, or a section replaced by
    /// an alias to another, or an alias that is never defined.
    public static func aliases(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        switch random.int(0..<3) {
        case 0:
            let levels = random.int(1...9)
            var text = "laughs:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
            for level in 1...levels {
                text += "  l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ") + "]\n"
            }
            bytes = Array(text.utf8) + bytes
        case 1:
            var text = String(decoding: bytes, as: UTF8.self)
            if let range = text.range(of: "model:") { text.replaceSubrange(range, with: "model: &m") }
            if let range = text.range(of: "\noptim:") { text.insert(contentsOf: " *m", at: range.upperBound) }
            bytes = Array(text.utf8)
        default:
            replaceYAMLValue(&bytes, with: ["*undefined", "&a 1", "&a [*a]", "!!binary AAAA", "!!python/object:os.system x",
                                            "!<tag:yaml.org,2002:int> 3", "<<: *x"], &random)
        }
    }
}

extension TextMutations {
    /// The mutations of a JSON Lines document file, by family name (pretrain tokenize's and pretrain curate's input):
    /// strings, lines, numbers (extreme and non-finite), deep nesting, byte havoc and invalid UTF-8.
    static let jsonLinesMutations: [(name: String, mutate: (inout [UInt8], inout FuzzRandom) -> Void)] = [
        ("strings", { replaceString(&$0, &$1) }),
        ("lines", { bytes, random in random.pick([duplicateLines, swapLines, deleteLines])(&bytes, &random) }),
        ("numbers", { replaceNumber(&$0, with: extremeNumbers + nonFiniteJSON, &$1) }),
        ("deep-nesting", { nestJSON(&$0, &$1) }),
        ("bytes", { ByteMutations.havoc(&$0, &$1) }),
        ("invalid-utf8", { ByteMutations.insertInvalidUTF8(&$0, &$1) }),
    ]
}
