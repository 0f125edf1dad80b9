import Foundation

/// A problem with audio input or feature options that the user can fix: the message names the file and the reason.
public struct AudioError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
