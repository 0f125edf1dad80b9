import FileErrors
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends rows to RUN/metrics.jsonl, one line each, written to the file as they are appended.
public final class MetricsLog {
    public let url: URL
    private let handle: FileHandle

    /// Opens (creating) the log. `keepingThrough`: rows with a later step are removed first — what a resumed run
    /// does, so that rows logged after the checkpoint by the interrupted run are not duplicated.
    public init(url: URL, keepingThrough lastStep: Int? = nil) throws {
        self.url = url
        let manager = FileManager.default
        if let lastStep, manager.fileExists(atPath: url.path) {
            let kept = try readMetrics(url).filter { $0.step <= lastStep }
            let text = try kept.map { try $0.jsonLine() + "\n" }.joined()
            try writeFileAtomically(Data(text.utf8), to: url)
        }
        do {
            if !manager.fileExists(atPath: url.path) { try Data().write(to: url) }
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch {
            throw MetricsError(message: FileError(error, operation: "open the metrics log", path: url.path).description)
        }
    }

    deinit { try? handle.close() }

    /// Writes the row's whole line or nothing: when the disk fills (or any write fails) part-way, the file is cut
    /// back to where the line began, so that no torn row is left for the next append to run into.
    public func append(_ record: MetricsRecord) throws {
        let line = Data((try record.jsonLine() + "\n").utf8)
        let descriptor = handle.fileDescriptor
        let start = lseek(descriptor, 0, SEEK_CUR)
        let failure: Int32? = line.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let count = write(descriptor, raw.baseAddress! + written, raw.count - written)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return count < 0 ? errno : EIO }
                written += count
            }
            return nil
        }
        guard let failure else { return }
        if start >= 0 && ftruncate(descriptor, start) == 0 { lseek(descriptor, start, SEEK_SET) }
        throw MetricsError(message: FileError(path: url.path, operation: "append to the metrics log",
                                              reason: FileError.reason(errno: failure)).description)
    }
}
