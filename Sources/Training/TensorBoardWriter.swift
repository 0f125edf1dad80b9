import Foundation
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
private let systemClose = Glibc.close
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
private let systemClose = Darwin.close
#endif

/// Writes scalar summaries to a TensorBoard event file in DIR (named as `RunDirectory.eventsFileName` says),
/// readable by `tensorboard --logdir DIR` while training runs: every event goes to the file descriptor as soon
/// as it is added (no user-space buffer); `flush()` also asks the OS to put it on disk.
///
/// Logging must not stop a training run: a failed write is reported once on stderr and kept in `writeError`,
/// and later events are still attempted. Not thread-safe: one writer per training loop.
public final class TensorBoardWriter {
    public let fileURL: URL
    /// The first write error, if any.
    public private(set) var writeError: Error?
    private var descriptor: Int32
    private let clock: () -> Double

    public struct FileError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "TensorBoard event file \(path): \(reason)" }
    }

    /// - Parameters:
    ///   - restartStep: when continuing a run (`--resume`), the first step that will be logged again; a
    ///     SessionLog.START event at that step makes TensorBoard drop the events the old process logged at
    ///     or after it, so the curve has no doubled tail.
    ///   - clock: wall time in seconds since 1970 (injectable so that tests get byte-identical files).
    public init(directory: URL, restartStep: Int? = nil, hostname: String = ProcessInfo.processInfo.hostName,
                clock: @escaping () -> Double = { Date().timeIntervalSince1970 }) throws {
        self.clock = clock
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let host = String(hostname.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
        let start = clock()
        let base = RunDirectory.eventsFileName(startSeconds: Int(start), host: host.isEmpty ? "localhost" : host)
        // Two writers started within the same second (a quick resume) get distinct files; TensorBoard reads
        // every file whose name contains "tfevents", in name order.
        var attempt = 0
        while true {
            let url = directory.appendingPathComponent(attempt == 0 ? base : "\(base).\(attempt)")
            let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 {
                fileURL = url
                descriptor = fd
                break
            }
            guard errno == EEXIST, attempt < 1000 else {
                throw FileError(path: url.path, reason: String(cString: strerror(errno)))
            }
            attempt += 1
        }
        write(TensorBoardEvent(wallTime: start, step: 0, payload: .fileVersion("brain.Event:2")))
        if let restartStep {
            write(TensorBoardEvent(wallTime: clock(), step: restartStep, payload: .sessionStart))
        }
        if let writeError { throw FileError(path: fileURL.path, reason: "\(writeError)") }
    }

    deinit { close() }

    public func addScalar(_ tag: String, _ value: Float, step: Int) {
        addScalars([(tag, value)], step: step)
    }

    /// Several scalars of one step in a single event.
    public func addScalars(_ scalars: [(tag: String, value: Float)], step: Int) {
        guard !scalars.isEmpty else { return }
        let values = scalars.map { TensorBoardEvent.Scalar(tag: $0.tag, value: $0.value) }
        write(TensorBoardEvent(wallTime: clock(), step: step, payload: .scalars(values)))
    }

    /// A trainer's metrics row, under the tags of `tag(forMetric:)` (non-finite values left out, as in metrics.jsonl).
    public func add(_ record: MetricsRecord) {
        addMetrics(MetricsTable.row(record), step: record.step)
    }

    /// One metrics.jsonl row (name → value, as in `MetricsTable`), under the tags of `tag(forMetric:)`.
    /// `step` itself is the event's step, not a scalar.
    public func addMetrics(_ metrics: [String: Double], step: Int) {
        let scalars = metrics.keys.sorted().filter { $0 != "step" }.map { (tag: Self.tag(forMetric: $0), value: Float(metrics[$0]!)) }
        addScalars(scalars, step: step)
    }

    /// TensorBoard groups charts by the tag's first path component: training metrics go under `train/`,
    /// evaluation metrics (`val_loss`, `val_bpb`, `val_loss/<source>`) under `val/`.
    public static func tag(forMetric name: String) -> String {
        if name.hasPrefix("val_") { return "val/" + name.dropFirst(4) }
        return "train/" + name
    }

    public func flush() {
        guard descriptor >= 0 else { return }
        if fsync(descriptor) != 0 { record(FileError(path: fileURL.path, reason: String(cString: strerror(errno)))) }
    }

    public func close() {
        guard descriptor >= 0 else { return }
        flush()
        _ = systemClose(descriptor)
        descriptor = -1
    }

    private func write(_ event: TensorBoardEvent) {
        guard descriptor >= 0 else { return }
        let frame = TFRecord.frame(event.encoded())
        frame.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    record(FileError(path: fileURL.path, reason: String(cString: strerror(errno))))
                    return
                }
                offset += written
            }
        }
    }

    private func record(_ error: Error) {
        guard writeError == nil else { return }
        writeError = error
        FileHandle.standardError.write(Data("warning: TensorBoard logging failed: \(error)\n".utf8))
    }
}
