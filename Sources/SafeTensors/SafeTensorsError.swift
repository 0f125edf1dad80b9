import Foundation

/// A malformed or unreadable safetensors file, or a request it cannot satisfy.
/// The message names the file (when known), the tensor and what is wrong, on one line: line breaks of names and
/// values quoted from the file are escaped.
public struct SafeTensorsError: Error, CustomStringConvertible, LocalizedError {
    public let message: String

    public init(_ message: String) {
        self.message = message.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }

    public var description: String { message }
    public var errorDescription: String? { message }
}
