import Foundation

/// A problem a user can cause (a malformed input line, a misspelt step kind, a threshold out of range), as one line
/// that names the file and, where there is one, the line or key: "corpus.jsonl line 17: not a JSON object with a
/// string \"text\"". The command prints it and exits non-zero.
public struct CurationError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public let description: String
    /// Line breaks inside the message (a key or kind the user wrote with one) are escaped: the error stays one line.
    public init(_ description: String) {
        self.description = description.contains(where: \.isNewline)
            ? String(description.unicodeScalars.map { $0.properties.isWhitespace && Character($0).isNewline
                ? ($0 == "\n" ? "\\n" : $0 == "\r" ? "\\r" : "\\u{\(String($0.value, radix: 16))}") : String($0) }.joined())
            : description
    }
    public var errorDescription: String? { description }
}
