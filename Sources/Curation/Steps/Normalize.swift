import Foundation

/// `normalize`: Unicode NFC and whitespace clean-up, so that the same text written two ways dedups as one.
///
/// Keys (defaults in brackets): `nfc` [true] — compose to Unicode NFC (an ASCII text is already NFC and is not
/// touched); `line_endings` [true] — CRLF and lone CR become LF; `strip_trailing_spaces` [true] — spaces and tabs at
/// the end of each line go; `collapse_spaces` [false] — runs of spaces and tabs inside a line become one space;
/// `max_blank_lines` [1] — longer runs of blank lines are cut to this many (null: keep all); `trim` [true] — blank
/// lines and whitespace at the start and end of the text go; `drop_empty` [true] — a text with nothing but whitespace
/// left is dropped ("empty"). Only ASCII whitespace is treated as whitespace.
public final class Normalize: CurationStep {
    public static let kind = "normalize"
    public static let keys = ["nfc", "line_endings", "strip_trailing_spaces", "collapse_spaces", "max_blank_lines", "trim", "drop_empty"]

    public var nfc = true
    public var lineEndings = true
    public var stripTrailingSpaces = true
    public var collapseSpaces = false
    public var maxBlankLines: Int? = 1
    public var trim = true
    public var dropEmpty = true
    private var output: [UInt8] = []
    private var lines: [(start: Int, end: Int)] = []

    public init(settings: StepSettings) throws {
        nfc = try settings.bool("nfc") ?? nfc
        lineEndings = try settings.bool("line_endings") ?? lineEndings
        stripTrailingSpaces = try settings.bool("strip_trailing_spaces") ?? stripTrailingSpaces
        collapseSpaces = try settings.bool("collapse_spaces") ?? collapseSpaces
        if settings.has("max_blank_lines") {
            maxBlankLines = try settings.int("max_blank_lines")
            if let maxBlankLines, maxBlankLines < 0 { throw settings.problem("max_blank_lines", "must be ≥ 0 (or null), got \(maxBlankLines)") }
        }
        trim = try settings.bool("trim") ?? trim
        dropEmpty = try settings.bool("drop_empty") ?? dropEmpty
    }

    public func apply(to document: inout CurationDocument) throws -> StepVerdict {
        var text = document.text
        var changed = false
        if nfc {
            let isASCII = text.utf8.withContiguousStorageIfAvailable { bytes in !bytes.contains { $0 >= 0x80 } } ?? false
            if !isASCII {
                let composed = text.precomposedStringWithCanonicalMapping
                if !sameBytes(composed, text) { (text, changed) = (composed, true) }   // == would call NFD and NFC equal
            }
        }
        let whitespaceChanged = text.withUTF8 { normalizeWhitespace($0) }
        if whitespaceChanged {
            text = String(decoding: output, as: UTF8.self)
            changed = true
        }
        if dropEmpty, text.utf8.allSatisfy({ $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }) {
            return .drop(DropReason("empty", "normalize: no text left"))
        }
        if changed { document.text = text }
        return .keep
    }

    /// Writes the cleaned bytes into `output`; returns whether they differ from `input`.
    private func normalizeWhitespace(_ input: UnsafeBufferPointer<UInt8>) -> Bool {
        // The lines, as ranges of `input` without their terminators; a final terminator ends the last line.
        lines.removeAll(keepingCapacity: true)
        var lineStart = 0, index = 0
        let count = input.count
        var endsWithNewline = false
        while index < count {
            let byte = input[index]
            if byte == 0x0A || (lineEndings && byte == 0x0D) {
                lines.append((lineStart, index))
                index += byte == 0x0D && index + 1 < count && input[index + 1] == 0x0A ? 2 : 1
                lineStart = index
                endsWithNewline = index == count
            } else {
                index += 1
            }
        }
        if lineStart < count || lines.isEmpty { lines.append((lineStart, count)) }
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        func isBlank(_ line: (start: Int, end: Int)) -> Bool { (line.start..<line.end).allSatisfy { isSpace(input[$0]) } }
        var first = 0, last = lines.count - 1
        if trim {
            while first <= last, isBlank(lines[first]) { first += 1 }
            while last >= first, isBlank(lines[last]) { last -= 1 }
        }
        output.removeAll(keepingCapacity: true)
        output.reserveCapacity(count)
        let limit = maxBlankLines ?? Int.max
        var blankRun = 0, wroteLine = false
        for position in first...max(first, last) where position <= last {
            var (start, end) = lines[position]
            if isBlank((start, end)) {
                blankRun += 1
                if blankRun > limit { continue }
                if stripTrailingSpaces { end = start }
            } else {
                blankRun = 0
                if stripTrailingSpaces || (trim && position == last) { while end > start, isSpace(input[end - 1]) { end -= 1 } }
                if trim && position == first { while start < end, isSpace(input[start]) { start += 1 } }
            }
            if wroteLine { output.append(0x0A) }
            appendLine(input, start, end)
            wroteLine = true
        }
        if !trim && endsWithNewline { output.append(0x0A) }
        return output.count != count || (count > 0 && output.withUnsafeBufferPointer { memcmp($0.baseAddress!, input.baseAddress!, count) } != 0)
    }

    /// Copies one line's text, runs of spaces and tabs made one space when `collapseSpaces` is set.
    private func appendLine(_ input: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) {
        guard collapseSpaces else {
            output.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<end]))
            return
        }
        var inRun = false
        for index in start..<end {
            let byte = input[index]
            if byte == 0x20 || byte == 0x09 {
                if !inRun { output.append(0x20) }
                inRun = true
            } else {
                output.append(byte)
                inRun = false
            }
        }
    }
}
