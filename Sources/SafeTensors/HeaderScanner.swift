/// A cursor over the header's JSON bytes.
///
/// Hand-written rather than JSONSerialization because that keeps one of two duplicate keys
/// silently, and because values we skip (unknown fields) should cost nothing to allocate.
struct HeaderScanner {
    /// Deepest nesting accepted inside skipped values; bounds the recursion of `skipValue`.
    static let maxDepth = 64

    private let bytes: [UInt8]
    private(set) var position = 0
    let source: String

    init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    var isAtEnd: Bool { position >= bytes.count }

    func error(_ what: String) -> SafeTensorsError {
        SafeTensorsError("\(source): header JSON at byte \(position): \(what)")
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1  // space, tab, newline, carriage return
            default: return
            }
        }
    }

    /// The next non-whitespace byte, not consumed.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return isAtEnd ? nil : bytes[position]
    }

    mutating func expect(_ byte: UInt8) throws {
        guard let next = peek() else { throw error("expected \(describe(byte)), found end of header") }
        guard next == byte else { throw error("expected \(describe(byte)), found \(describe(next))") }
        position += 1
    }

    /// Reads `{ "key": value, ... }`; `readValue` is called with each key and must consume its value.
    mutating func readObject(_ readValue: (inout HeaderScanner, String) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        if peek() == UInt8(ascii: "}") { position += 1; return }
        while true {
            let key = try readString()
            try expect(UInt8(ascii: ":"))
            try readValue(&self, key)
            guard let next = peek() else { throw error("unterminated object") }
            position += 1
            if next == UInt8(ascii: "}") { return }
            guard next == UInt8(ascii: ",") else { throw error("expected ',' or '}' after the value of '\(key)'") }
        }
    }

    /// Reads `[ value, ... ]`; `readElement` must consume one element per call.
    mutating func readArray(_ readElement: (inout HeaderScanner) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        if peek() == UInt8(ascii: "]") { position += 1; return }
        while true {
            try readElement(&self)
            guard let next = peek() else { throw error("unterminated array") }
            position += 1
            if next == UInt8(ascii: "]") { return }
            guard next == UInt8(ascii: ",") else { throw error("expected ',' or ']' in array") }
        }
    }

    mutating func readString() throws -> String {
        try expect(UInt8(ascii: "\""))
        var utf8: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(bytes: utf8, encoding: .utf8) else { throw error("string is not valid UTF-8") }
                return string
            case UInt8(ascii: "\\"):
                try readEscape(into: &utf8)
            case 0..<0x20:
                throw error("unescaped control character 0x\(String(byte, radix: 16)) in string")
            default:
                utf8.append(byte)
            }
        }
        throw error("unterminated string")
    }

    /// Reads a JSON number that must be a non-negative integer fitting in Int.
    /// `context` (e.g. "model.safetensors: tensor 'w': shape") leads the message when it is not.
    mutating func readNonNegativeInt(context: String) throws -> Int {
        skipWhitespace()
        let start = position
        while position < bytes.count, isNumberByte(bytes[position]) { position += 1 }
        let token = String(decoding: bytes[start..<position], as: UTF8.self)
        guard !token.isEmpty else {
            let found = isAtEnd ? "end of header" : describe(bytes[position])
            throw SafeTensorsError("\(context): expected a non-negative integer, found \(found)")
        }
        guard token.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw SafeTensorsError("\(context): expected a non-negative integer, found \(token)")
        }
        guard token == "0" || !token.hasPrefix("0") else {
            throw SafeTensorsError("\(context): number \(token) has a leading zero")
        }
        guard let value = Int(token) else {
            throw SafeTensorsError("\(context): \(token) is too large")
        }
        return value
    }

    /// Consumes any JSON value without keeping it (fields the format does not define).
    mutating func skipValue(depth: Int = 0) throws {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth) levels") }
        guard let next = peek() else { throw error("expected a value, found end of header") }
        switch next {
        case UInt8(ascii: "{"): try readObject { scanner, _ in try scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["): try readArray { scanner in try scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""): _ = try readString()
        case UInt8(ascii: "t"): try expectWord("true")
        case UInt8(ascii: "f"): try expectWord("false")
        case UInt8(ascii: "n"): try expectWord("null")
        default:
            let start = position
            while position < bytes.count, isNumberByte(bytes[position]) { position += 1 }
            let token = String(decoding: bytes[start..<position], as: UTF8.self)
            guard Double(token) != nil else { throw error("expected a value, found \(describe(next))") }
        }
    }

    private mutating func expectWord(_ word: String) throws {
        let end = position + word.utf8.count
        guard end <= bytes.count, bytes[position..<end].elementsEqual(word.utf8) else {
            throw error("expected a value")
        }
        position = end
    }

    /// A byte for a message: quoted when printable ASCII, else in hex.
    private func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    private func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
             UInt8(ascii: "e"), UInt8(ascii: "E"): return true
        default: return false
        }
    }

    private mutating func readEscape(into utf8: inout [UInt8]) throws {
        guard position < bytes.count else { throw error("unterminated string") }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var codePoint = try readHex4()
            if (0xD800..<0xDC00).contains(codePoint) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                      bytes[position + 1] == UInt8(ascii: "u") else { throw error("unpaired surrogate in \\u escape") }
                position += 2
                let low = try readHex4()
                guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                codePoint = 0x10000 + (codePoint - 0xD800) << 10 + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(codePoint) else { throw error("unpaired surrogate in \\u escape") }
            UTF8.encode(scalar) { utf8.append($0) }
        default:
            throw error("invalid escape: backslash then \(describe(byte))")
        }
    }

    private mutating func readHex4() throws -> UInt32 {
        // Check the digits ourselves: UInt32(_:radix:) would also take a sign.
        guard position + 4 <= bytes.count,
              bytes[position..<position + 4].allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }),
              let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
        else { throw error("\\u escape needs 4 hex digits") }
        position += 4
        return value
    }
}
