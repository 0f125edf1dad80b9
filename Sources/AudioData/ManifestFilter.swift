import Foundation

/// `FIELD=VALUE[,VALUE…]`: the manifest entries whose field is one of the values (`--where gender=female`,
/// `--where language=hi,bn,ta`). Fields that are numbers or booleans compare as their text ("true", "0.5").
public struct ManifestFilter: Equatable, Sendable, CustomStringConvertible {
    public let field: String
    public let values: [String]

    public init(field: String, values: [String]) {
        self.field = field
        self.values = values
    }

    /// Parses `FIELD=VALUE[,VALUE…]`; throws a one-line error naming the text when it is not of that form.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let values = parts.count == 2 ? parts[1].split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } : []
        guard parts.count == 2, !parts[0].isEmpty, !values.isEmpty, !values.contains("") else {
            throw AudioError("'\(text)' is not FIELD=VALUE[,VALUE…] (e.g. gender=female)")
        }
        self.init(field: String(parts[0]), values: values)
    }

    public var description: String { "\(field)=\(values.joined(separator: ","))" }

    /// Whether an entry with these fields passes (an entry without the field does not).
    public func accepts(_ fields: [String: String]) -> Bool { fields[field].map(values.contains) ?? false }
}

/// A manifest line's fields that are strings, numbers or booleans, as text (nested values are left out).
public func manifestFields(_ object: [String: Any]) -> [String: String] {
    var fields: [String: String] = [:]
    for (name, value) in object {
        switch value {
        case let text as String: fields[name] = text
        case let number as NSNumber:
            fields[name] = String(cString: number.objCType) == "c" ? (number.boolValue ? "true" : "false") : number.stringValue
        default: continue
        }
    }
    return fields
}
