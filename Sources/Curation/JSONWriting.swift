import Foundation

// The one JSON writer of curated.jsonl, the spool between passes and the clusters file: object keys sorted, no
// spaces, non-ASCII written as UTF-8, so the same documents give the same bytes in every run and on every machine
// (JSONSerialization's key order and number formatting are not promised).

extension MetaValue {
    /// Appends this value as compact JSON.
    public func appendJSON(to output: inout [UInt8]) {
        switch self {
        case .string(let value): appendJSONString(value, to: &output)
        case .number(let value): appendJSONNumber(value, to: &output)
        case .bool(let value): output.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
        case .null: output.append(contentsOf: "null".utf8)
        case .array(let values):
            output.append(UInt8(ascii: "["))
            for (position, value) in values.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                value.appendJSON(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object): appendJSONObject(object, to: &output)
        }
    }

    /// This value as compact JSON text.
    public var jsonText: String {
        var output: [UInt8] = []
        appendJSON(to: &output)
        return String(decoding: output, as: UTF8.self)
    }
}

/// `{"a":…,"b":…}` with the keys in sorted order.
public func appendJSONObject(_ object: [String: MetaValue], to output: inout [UInt8]) {
    output.append(UInt8(ascii: "{"))
    for (position, key) in object.keys.sorted().enumerated() {
        if position > 0 { output.append(UInt8(ascii: ",")) }
        appendJSONString(key, to: &output)
        output.append(UInt8(ascii: ":"))
        object[key]!.appendJSON(to: &output)
    }
    output.append(UInt8(ascii: "}"))
}

/// A JSON string: `"` and `\` escaped, control characters as \n, \t, \r, \b, \f or \u00XX, everything else as is.
public func appendJSONString(_ value: String, to output: inout [UInt8]) {
    var value = value
    output.append(UInt8(ascii: "\""))
    value.withUTF8 { bytes in
        var runStart = 0
        for position in 0..<bytes.count {
            let byte = bytes[position]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
            runStart = position + 1
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): output.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x08: output.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            default:
                let hex = Array("0123456789abcdef".utf8)
                output.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
    }
    output.append(UInt8(ascii: "\""))
}

/// A number as JSON: integers below 2^53 without a fraction (`1623`, not `1623.0`), others in Swift's shortest
/// round-trip form (`0.25`, `1e-05`); a value that is not finite, which JSON cannot hold, as null.
public func appendJSONNumber(_ value: Double, to output: inout [UInt8]) {
    guard value.isFinite else { output.append(contentsOf: "null".utf8); return }
    if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
        output.append(contentsOf: String(Int64(value)).utf8)
    } else {
        output.append(contentsOf: value.description.utf8)
    }
}

extension CurationDocument {
    /// The document as one JSONL line (with its newline): `{"meta":{…},"text":"…"}`, keys sorted at every level.
    public func appendJSONLine(to output: inout [UInt8]) {
        output.append(contentsOf: #"{"meta":"#.utf8)
        appendJSONObject(meta, to: &output)
        output.append(contentsOf: #","text":"#.utf8)
        appendJSONString(text, to: &output)
        output.append(contentsOf: "}\n".utf8)
    }
}

extension MetaValue {
    /// Indented JSON (two spaces, keys sorted) for files people read: stats.json.
    public func prettyJSON(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent + 1), close = String(repeating: "  ", count: indent)
        switch self {
        case .array(let values) where !values.isEmpty:
            if values.allSatisfy({ if case .object = $0 { return false }; if case .array = $0 { return false }; return true }) {
                return jsonText   // a list of scalars on one line
            }
            return "[\n" + values.map { pad + $0.prettyJSON(indent: indent + 1) }.joined(separator: ",\n") + "\n\(close)]"
        case .object(let object) where !object.isEmpty:
            return "{\n" + object.keys.sorted().map { key in
                pad + MetaValue.string(key).jsonText + ": " + object[key]!.prettyJSON(indent: indent + 1)
            }.joined(separator: ",\n") + "\n\(close)}"
        default:
            return jsonText
        }
    }
}
