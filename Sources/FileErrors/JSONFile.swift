import Foundation

/// A JSON file that one of our commands wrote (a probe result, a judgement, a skills graph), read back with the two
/// failures told apart in one line each: a file that cannot be read is a `FileError` ("runs/a/judge.json: cannot
/// read a judgement of pretrain tts judge: no such file or directory"), and one that does not decode says what it
/// should have been and which key is wrong ("…: not a judgement of pretrain tts judge (missing key perReal)").
public enum JSONFile {
    /// `url` decoded as `T`; `expected` names what the file should be, with its article ("a skills graph of …").
    public static func decode<T: Decodable>(_ type: T.Type, from url: URL, expected: String,
                                            decoder: JSONDecoder = JSONDecoder()) throws -> T {
        let data = try FileError.wrap("read \(expected)", path: url.relativePath) { try Data(contentsOf: url) }
        do { return try decoder.decode(type, from: data) } catch {
            throw JSONFileError(path: url.relativePath, expected: expected, problem: problem(error))
        }
    }

    /// A decoding error as a phrase naming the key it is about ("missing key scores[1].mean", "name: Expected to
    /// decode String but found number instead."); other errors as they describe themselves.
    public static func problem(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.reduce("") { path, key in
                key.intValue.map { path + "[\($0)]" } ?? (path.isEmpty ? key.stringValue : path + "." + key.stringValue)
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing key \(path(DecodingError.Context(codingPath: context.codingPath + [key], debugDescription: "")))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return path(context).isEmpty ? context.debugDescription : "\(path(context)): \(context.debugDescription)"
        case .dataCorrupted(let context): return "\(path(context).isEmpty ? "not valid JSON" : path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// A JSON file that was read but is not what it should be: "PATH: not EXPECTED (PROBLEM)".
public struct JSONFileError: Error, CustomStringConvertible, LocalizedError {
    public let path: String
    public let expected: String
    public let problem: String

    public var description: String { "\(path): not \(expected) (\(problem))" }
    public var errorDescription: String? { description }
}
