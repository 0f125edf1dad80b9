import FileErrors
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file read in chunks of `chunkSize` bytes, as lines or as records of known length: memory stays at about one
/// chunk plus the longest line, whatever the file's size (a multi-GB JSONL corpus is never loaded whole).
final class ChunkedFileReader {
    /// A line longer than this is an error (a file without newlines would otherwise be read whole).
    static let maxLineBytes = 1 << 30

    let path: String
    private let descriptor: Int32
    private var buffer: [UInt8]
    private var start = 0, end = 0
    private var atEOF = false
    /// Bytes read from the file so far.
    private(set) var bytesRead = 0

    init(_ url: URL, chunkSize: Int = 1 << 20) throws {
        path = url.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw FileError(path: path, operation: "read the input", reason: FileError.reason(errno: EISDIR))
        }
        descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw FileError(path: path, operation: "read the input", reason: FileError.reason(errno: errno)) }
        buffer = [UInt8](repeating: 0, count: chunkSize)
    }

    deinit { close(descriptor) }

    /// Reads more bytes after the unread ones (moved to the front; the buffer doubles when they fill it).
    /// Returns false at the end of the file.
    private func fill() throws -> Bool {
        if atEOF { return false }
        if start > 0 {
            let unread = end - start
            if unread > 0 { buffer.withUnsafeMutableBytes { _ = memmove($0.baseAddress!, $0.baseAddress! + start, unread) } }
            (start, end) = (0, unread)
        }
        if end == buffer.count {
            guard buffer.count < Self.maxLineBytes else {
                throw FileError(path: path, operation: "read the input", reason: "a line is longer than \(Self.maxLineBytes) bytes")
            }
            buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
        }
        let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + end, $0.count - end) }
        guard count >= 0 else { throw FileError(path: path, operation: "read the input", reason: FileError.reason(errno: errno)) }
        if count == 0 { atEOF = true; return false }
        end += count
        bytesRead += count
        return true
    }

    /// Calls `body` with the next line's bytes (without its "\n"), valid only during the call; false at the end.
    func nextLine(_ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Bool {
        var searchFrom = start
        while true {
            let newline: Int? = buffer.withUnsafeBufferPointer { all in
                guard searchFrom < end else { return nil }
                let found = memchr(all.baseAddress! + searchFrom, 0x0A, end - searchFrom)
                return found.map { UnsafeRawPointer($0) - UnsafeRawPointer(all.baseAddress!) }
            }
            if let newline {
                try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<newline])) }
                start = newline + 1
                return true
            }
            let scanned = end - start
            if try !fill() {
                guard start < end else { return false }
                try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
                start = end
                return true
            }
            searchFrom = start + scanned
        }
    }

    /// The next `count` bytes, or nil at the end of the file (a record cut short is an error).
    func read(exactly count: Int) throws -> [UInt8]? {
        while end - start < count {
            if try !fill() {
                if start == end { return nil }
                throw FileError(path: path, operation: "read the spool", reason: "the file ends inside a record")
            }
        }
        defer { start += count }
        return Array(buffer[start..<(start + count)])
    }
}
