import Foundation

/// A problem with audio input or feature options that the user can fix: the message names the file and the reason.
public struct AudioError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    /// The file decodes but its content cannot be speech (non-finite samples, an absurd sample rate or length):
    /// an error even where undecodable files are skipped, unless the caller asks to skip bad audio too.
    public let isBadAudio: Bool
    public init(_ message: String) { (self.message, isBadAudio) = (message, false) }
    public init(badAudio message: String) { (self.message, isBadAudio) = (message, true) }
    public var description: String { message }
    public var errorDescription: String? { message }
}
