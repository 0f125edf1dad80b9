import Foundation

/// A problem a user can cause (a malformed input line, a misspelt step kind, a threshold out of range), as one line
/// that names the file and, where there is one, the line or key: "corpus.jsonl line 17: not a JSON object with a
/// string \"text\"". The command prints it and exits non-zero.
public struct CurationError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}
