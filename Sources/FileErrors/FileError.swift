import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file-system operation that failed, as one line a user can act on: the path, what was being done and the
/// reason in plain words ("/runs/a/metrics.jsonl: cannot append to the metrics log: no space left on the device"),
/// where Foundation would say "NSCocoaErrorDomain Code=640" and name no file.
public struct FileError: Error, CustomStringConvertible, LocalizedError {
    public let path: String
    /// What was being done, as a verb phrase: "create the directory", "read the recipe".
    public let operation: String
    public let reason: String

    public init(path: String, operation: String, reason: String) {
        (self.path, self.operation, self.reason) = (path, operation, reason)
    }

    /// `error` (Foundation's, or a POSIX error) of `operation` on `path`.
    public init(_ error: Error, operation: String, path: String) {
        self.init(path: path, operation: operation, reason: Self.reason(error, path: path))
    }

    public var description: String { "\(path): cannot \(operation): \(reason)" }
    public var errorDescription: String? { description }

    /// Runs `body`; whatever it throws becomes a FileError of `operation` on `path` (a FileError passes unchanged).
    public static func wrap<T>(_ operation: String, path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as FileError { throw error } catch {
            throw FileError(error, operation: operation, path: path)
        }
    }

    /// Creates `url` and its parents when missing. A file where a directory should be is named as such, since
    /// Foundation reports it as "file exists" or "not a directory" without saying which path is in the way.
    public static func createDirectory(_ url: URL) throws {
        let operation = "create the directory"
        var blocking: URL? = url.standardizedFileURL
        while let candidate = blocking, candidate.path != "/" {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory) {
                if isDirectory.boolValue { break }
                let reason = candidate == url.standardizedFileURL ? "it already exists as a file"
                    : "\(candidate.path) is a file, not a directory"
                throw FileError(path: url.path, operation: operation, reason: reason)
            }
            blocking = candidate.deletingLastPathComponent()
        }
        try wrap(operation, path: url.path) {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        }
    }

    /// The reason of a failed file operation in plain words: the POSIX error underneath Foundation's when there
    /// is one, else Foundation's code; `path` tells a directory read as a file, and a path under a file, from other
    /// failures (Foundation reports both as a missing file or with its catch-all code).
    public static func reason(_ error: Error, path: String? = nil) -> String {
        if let error = error as? FileError { return error.reason }
        let nsError = error as NSError
        var code: Int32?
        if nsError.domain == NSPOSIXErrorDomain {
            code = Int32(nsError.code)
        } else if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            code = Int32(underlying.code)
        } else if nsError.domain == NSCocoaErrorDomain {
            switch nsError.code {
            case CocoaError.fileNoSuchFile.rawValue, CocoaError.fileReadNoSuchFile.rawValue: code = ENOENT
            case CocoaError.fileReadNoPermission.rawValue, CocoaError.fileWriteNoPermission.rawValue: code = EACCES
            case CocoaError.fileWriteFileExists.rawValue: return "it already exists as a file"
            case CocoaError.fileWriteOutOfSpace.rawValue: code = ENOSPC
            case CocoaError.fileWriteVolumeReadOnly.rawValue: code = EROFS
            case CocoaError.fileReadInapplicableStringEncoding.rawValue, CocoaError.fileReadUnknownStringEncoding.rawValue:
                return "it is not UTF-8 text"
            case CocoaError.fileReadTooLarge.rawValue: code = EFBIG
            default: break  // Foundation's catch-all (256) names no cause: the path may tell it
            }
        } else {
            return "\(error)"
        }
        if let path, code == nil || code == ENOENT || code == ENOTDIR, let found = cause(at: path) { code = found }
        return code.map { reason(errno: $0) } ?? nsError.localizedDescription
    }

    /// What is wrong at `path` that Foundation leaves unnamed: a directory there (EISDIR), a file where one of its
    /// parents should be (ENOTDIR) or nothing there (ENOENT); nil when a file is there.
    private static func cause(at path: String) -> Int32? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) { return isDirectory.boolValue ? EISDIR : nil }
        var parent = URL(fileURLWithPath: path).deletingLastPathComponent()
        while parent.path != "/", !FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDirectory) {
            parent = parent.deletingLastPathComponent()
        }
        return isDirectory.boolValue || parent.path == "/" ? ENOENT : ENOTDIR
    }

    /// A POSIX error number in plain words.
    public static func reason(errno code: Int32) -> String {
        switch code {
        case ENOSPC: return "no space left on the device"
        case EDQUOT: return "the disk quota is exceeded"
        case EISDIR: return "it is a directory"
        case ENOTDIR: return "a part of the path is a file, not a directory"
        case EACCES, EPERM: return "permission denied"
        case EROFS: return "the file system is read-only"
        case EEXIST: return "it already exists"
        case ENOENT: return "no such file or directory"
        case EFBIG: return "the file is too large"
        case ENAMETOOLONG: return "the name is too long"
        case EIO: return "input/output error"
        default: return String(cString: strerror(code))
        }
    }
}
