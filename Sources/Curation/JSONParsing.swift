import Foundation

// Reading one JSON value from a line of bytes. JSONSerialization builds NSDictionary/NSString objects and was most
// of the time of reading a JSONL corpus; this parser goes from bytes to `MetaValue` directly (strings without escapes
// are one copy). Anything it refuses is given to JSONSerialization, so its verdict on unusual input (deep nesting, odd
// numbers) is the reference one; CurationJSONTests checks both agree on escapes, surrogates, numbers and nesting.

public enum JSONValueParser {
    /// The deepest nesting parsed here; deeper values go to JSONSerialization, which has its own limit.
    static let maxDepth = 256

    /// The JSON value that fills `bytes` (whitespace around it allowed), or nil when it is not valid JSON.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> MetaValue? {
        fast(bytes) ?? reference(bytes)
    }

    /// This parser alone, without the fallback (nil: refused).
    public static func fast(_ bytes: UnsafeBufferPointer<UInt8>) -> MetaValue? {
        var parser = FastJSONParser(bytes: bytes)
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipWhitespace()
        return parser.position == bytes.count ? value : nil
    }

    /// JSONSerialization's reading, as a MetaValue.
    public static func reference(_ bytes: UnsafeBufferPointer<UInt8>) -> MetaValue? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: bytes), options: [.fragmentsAllowed]) else {
            return nil
        }
        return MetaValue(foundationJSON: object)
    }
}

extension MetaValue {
    /// A value as JSONSerialization returns it (NSNumber booleans are told apart from numbers by their type code).
    public init?(foundationJSON object: Any) {
        switch object {
        case let string as String: self = .string(string)
        case let number as NSNumber:
            self = String(cString: number.objCType) == "c" ? .bool(number.boolValue) : .number(number.doubleValue)
        case is NSNull: self = .null
        case let array as [Any]:
            var values: [MetaValue] = []
            for element in array {
                guard let value = MetaValue(foundationJSON: element) else { return nil }
                values.append(value)
            }
            self = .array(values)
        case let dictionary as [String: Any]:
            var values: [String: MetaValue] = [:]
            for (key, element) in dictionary {
                guard let value = MetaValue(foundationJSON: element) else { return nil }
                values[key] = value
            }
            self = .object(values)
        default: return nil
        }
    }
}

/// A recursive-descent JSON parser over bytes (RFC 8259); nil from any function means "not valid here".
private struct FastJSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    /// Bytes of a string with escapes, reused.
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) -> MetaValue? {
        skipWhitespace()
        guard position < bytes.count, depth < JSONValueParser.maxDepth else { return nil }
        switch bytes[position] {
        case UInt8(ascii: "{"): return object(depth: depth).map { .object($0) }
        case UInt8(ascii: "["): return array(depth: depth)
        case UInt8(ascii: "\""): return string().map { .string($0) }
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        default: return number().map { .number($0) }
        }
    }

    mutating func literal(_ word: StaticString, _ value: MetaValue) -> MetaValue? {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { return nil }
        for offset in 0..<count where bytes[position + offset] != word.utf8Start[offset] { return nil }
        position += count
        return value
    }

    mutating func object(depth: Int) -> [String: MetaValue]? {
        position += 1   // {
        var result: [String: MetaValue] = [:]
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return result }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\""), let key = string() else { return nil }
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { return nil }
            position += 1
            guard let element = value(depth: depth + 1) else { return nil }
            result[key] = element   // a repeated key keeps its last value, as JSONSerialization does
            skipWhitespace()
            guard position < bytes.count else { return nil }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return result }
            return nil
        }
    }

    mutating func array(depth: Int) -> MetaValue? {
        position += 1   // [
        var result: [MetaValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(result) }
        while true {
            guard let element = value(depth: depth + 1) else { return nil }
            result.append(element)
            skipWhitespace()
            guard position < bytes.count else { return nil }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(result) }
            return nil
        }
    }

    /// A string starting at the opening quote. Without escapes it is decoded straight from the line's bytes.
    mutating func string() -> String? {
        position += 1   // "
        let start = position
        var nonASCII: UInt8 = 0
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let run = UnsafeBufferPointer(rebasing: bytes[start..<position])
                position += 1
                return nonASCII & 0x80 == 0 ? String(decoding: run, as: UTF8.self) : String(validating: run, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { return escapedString(from: start) }
            if byte < 0x20 { return nil }
            nonASCII |= byte
            position += 1
        }
        return nil
    }

    /// The rest of a string that has escapes, built in `scratch`: runs without escapes are copied whole (a JSONL text
    /// has a `\n` every line, so this is the common path, not a rare one).
    mutating func escapedString(from start: Int) -> String? {
        scratch.removeAll(keepingCapacity: true)
        var runStart = start
        while position < bytes.count {
            let byte = bytes[position]
            if byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte >= 0x20 {
                position += 1
                continue
            }
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
            position += 1
            switch byte {
            case UInt8(ascii: "\""): return String(validating: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { return nil }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(escape)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "u"):
                    guard let scalar = unicodeEscape() else { return nil }
                    scratch.append(contentsOf: String(Character(scalar)).utf8)
                default: return nil
                }
            default:
                return nil   // a control character must be escaped
            }
            runStart = position
        }
        return nil
    }

    /// The scalar of `\uXXXX` (after the `u`), a surrogate pair `\uD83D\uDE00` taken together; a lone surrogate is nil.
    mutating func unicodeEscape() -> Unicode.Scalar? {
        guard let high = hex4() else { return nil }
        if (0xD800..<0xDC00).contains(high) {
            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                return nil
            }
            position += 2
            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
            return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        }
        return Unicode.Scalar(high)   // nil for a lone low surrogate
    }

    mutating func hex4() -> UInt32? {
        guard position + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// A number by JSON's grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`. Integers of up to 15 digits are
    /// exact as they are read; others are parsed by Double(String), which rounds correctly.
    mutating func number() -> Double? {
        let start = position
        func digits() -> Int {
            let first = position
            while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 { position += 1 }
            return position - first
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count else { return nil }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else if digits() == 0 {
            return nil
        }
        var integral = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            integral = false
            guard digits() > 0 else { return nil }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            integral = false
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { return nil }
        }
        let text = UnsafeBufferPointer(rebasing: bytes[start..<position])
        if integral, text.count <= 15 {
            var value = 0
            var negative = false
            for byte in text {
                if byte == UInt8(ascii: "-") { negative = true } else { value = value * 10 + Int(byte - UInt8(ascii: "0")) }
            }
            return Double(negative ? -value : value)
        }
        // 1e999 overflows to infinity, which JSON cannot write back: JSONSerialization decides.
        return Double(String(decoding: text, as: UTF8.self)).flatMap { $0.isFinite ? $0 : nil }
    }
}
