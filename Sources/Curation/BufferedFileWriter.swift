import FileErrors
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A new file written through a buffer of about `flushBytes`: the curated JSONL, the spool between passes.
final class BufferedFileWriter {
    let path: String
    var buffer: [UInt8] = []
    private var descriptor: Int32
    private let flushBytes: Int

    init(_ url: URL, flushBytes: Int = 1 << 20) throws {
        path = url.path
        self.flushBytes = flushBytes
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw FileError(path: path, operation: "create the file", reason: FileError.reason(errno: errno)) }
        buffer.reserveCapacity(flushBytes + (flushBytes >> 2))
    }

    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }

    /// Writes the buffer out once it holds `flushBytes`; callers append to `buffer` and then call this.
    func flushIfFull() throws { if buffer.count >= flushBytes { try flush() } }

    func flush() throws {
        var written = 0
        while written < buffer.count {
            let count = buffer.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, operation: "write the file", reason: FileError.reason(errno: errno))
            }
            written += count
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes; the file is complete only after this returns.
    func close() throws {
        try flush()
        let result = Glibc.close(descriptor)
        descriptor = -1
        guard result == 0 else { throw FileError(path: path, operation: "close the file", reason: FileError.reason(errno: errno)) }
    }
}
