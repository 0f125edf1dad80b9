import Foundation

/// A checkpoint is a directory `RUN/checkpoints/step_000200/` holding
/// `model.safetensors`, `optimizer.safetensors`, `trainer_state.json`, `config.json` (the model and objective
/// sections of the recipe, vocabulary resolved), `tokenizer.json` (when the corpus has one), `sparsity.safetensors`
/// (the masks of a sparse run) and `COMPLETE`.
///
/// Writing is crash-safe: the files go into a hidden temporary directory and are fsynced, the directory is
/// renamed into place, then the `COMPLETE` marker is written and `checkpoints/latest` is updated. A directory
/// without `COMPLETE` (a crash between rename and marker, or a copy in progress) is never loaded. The marker records
/// every file's CRC-32C (`CheckpointManifest`), checked on every load, so that damage after writing is found too.
public enum Checkpoint {
    public static let modelFile = "model.safetensors"
    public static let optimizerFile = "optimizer.safetensors"
    public static let stateFile = "trainer_state.json"
    public static let configFile = "config.json"
    public static let tokenizerFile = "tokenizer.json"
    /// The masks of a sparse run (`WeightSparsity`), when it is one.
    public static let sparsityFile = "sparsity.safetensors"
    public static let completeMarker = "COMPLETE"

    /// `step_000200`.
    public static func directoryName(step: Int) -> String { "step_" + String(format: "%06d", step) }

    /// The step of a checkpoint directory name, nil for other names.
    public static func step(ofDirectoryName name: String) -> Int? {
        guard name.hasPrefix("step_") else { return nil }
        let digits = name.dropFirst(5)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }

    public static func isComplete(_ directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(completeMarker).path)
    }

    /// A complete checkpoint directory, or a run directory (then its newest complete checkpoint), its files checked
    /// against their checksums: where every loader starts.
    public static func resolve(_ url: URL) throws -> URL {
        let directory = try locate(url)
        try verify(directory)
        return directory
    }

    /// `resolve` without reading the files: where a checkpoint is, for naming things after it.
    public static func locate(_ url: URL) throws -> URL {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError("\(url.path): no such checkpoint or run directory")
        }
        if FileManager.default.fileExists(atPath: url.appendingPathComponent(modelFile).path) {
            guard isComplete(url) else {
                throw CheckpointError("\(url.path): checkpoint is incomplete (no \(completeMarker) marker; the run was "
                    + "interrupted while writing it)")
            }
            return url
        }
        let store = CheckpointStore(runDirectory: url)
        guard let newest = store.completeCheckpoints().last else {
            throw CheckpointError("\(url.path): neither a checkpoint (no \(modelFile)) nor a run directory with a complete checkpoint")
        }
        return newest.url
    }
}

extension Checkpoint {
    /// Writes the checkpoint directory `final` crash-safely: `contents` fills a temporary directory beside it,
    /// which becomes `final` once every file in it is on disk (replacing an older `final`); then the
    /// `COMPLETE` marker, holding `marker`, is written.
    static func writeDirectory(_ final: URL, marker: String, contents: (URL) throws -> Void) throws {
        let parent = final.deletingLastPathComponent()
        let name = final.lastPathComponent
        let partial = parent.appendingPathComponent(".partial-\(name)-\(getpid())")
        let manager = FileManager.default
        try? manager.removeItem(at: partial)
        try createDirectory(partial)
        let manifest: CheckpointManifest
        do {
            try contents(partial)
            manifest = try CheckpointManifest.make(of: partial)
            for file in try manager.contentsOfDirectory(atPath: partial.path) {
                try fsyncPath(partial.appendingPathComponent(file))
            }
            try fsyncPath(partial)
            if manager.fileExists(atPath: final.path) {
                // Written again (a resumed run that went past an unfinished later checkpoint, a fine-tuning
                // redone): the old directory goes aside first, since rename cannot replace a non-empty directory.
                let stale = parent.appendingPathComponent(".stale-\(name)-\(getpid())")
                try renameItem(final, to: stale)
                try? manager.removeItem(at: stale)
            }
            try renameItem(partial, to: final)
            try fsyncPath(parent)
        } catch {
            try? manager.removeItem(at: partial)
            throw CheckpointError("cannot write checkpoint \(final.path): \(error)")
        }
        let text = marker.isEmpty || marker.hasSuffix("\n") ? marker : marker + "\n"
        try writeFileAtomically(Data((text + manifest.lines).utf8), to: final.appendingPathComponent(completeMarker))
    }
}

public struct CheckpointError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The checkpoints of one run: `RUN/checkpoints/` (`RunDirectory.checkpoints`).
public struct CheckpointStore {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    public init(runDirectory: URL) { self = RunDirectory(runDirectory).checkpoints }

    /// The `latest` pointer file (a text file naming the newest complete checkpoint directory).
    public var latestPointer: URL { directory.appendingPathComponent(RunDirectory.Name.latest) }

    /// The checkpoint the `latest` pointer names, nil when there is none.
    public var latest: URL? {
        guard let name = try? String(contentsOf: latestPointer, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty else { return nil }
        return directory.appendingPathComponent(name)
    }

    /// Complete checkpoints, oldest first.
    public func completeCheckpoints() -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard let step = Checkpoint.step(ofDirectoryName: name) else { return nil }
            let url = directory.appendingPathComponent(name)
            return Checkpoint.isComplete(url) ? (step, url) : nil
        }.sorted { $0.0 < $1.0 }
    }

    /// Writes checkpoint `step` (`Checkpoint.writeDirectory`), then the `latest` pointer, and removes all but the
    /// newest `keepLast` complete checkpoints. Returns the checkpoint's directory.
    @discardableResult
    public func write(step: Int, keepLast: Int, contents: (URL) throws -> Void) throws -> URL {
        try createDirectory(directory)
        let name = Checkpoint.directoryName(step: step)
        let final = directory.appendingPathComponent(name)
        try Checkpoint.writeDirectory(final, marker: "step \(step)\n", contents: contents)
        try writeFileAtomically(Data((name + "\n").utf8), to: latestPointer)
        prune(keepLast: keepLast)
        return final
    }

    /// Deletes all but the newest `keepLast` complete checkpoints, and incomplete ones older than the newest.
    public func prune(keepLast: Int) {
        let complete = completeCheckpoints()
        for old in complete.dropLast(max(1, keepLast)) { try? FileManager.default.removeItem(at: old.url) }
        guard let newest = complete.last?.step else { return }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] {
            guard let step = Checkpoint.step(ofDirectoryName: name), step < newest else { continue }
            let url = directory.appendingPathComponent(name)
            if !Checkpoint.isComplete(url) { try? FileManager.default.removeItem(at: url) }
        }
    }

    /// Renames a damaged checkpoint to `step_NNNNNN.damaged` (kept for inspection, no longer a checkpoint) and points
    /// `latest` at the newest remaining one. Returns the new name.
    func setAsideDamaged(_ checkpoint: URL) throws -> URL {
        var aside = checkpoint.appendingPathExtension("damaged")
        var attempt = 1
        while FileManager.default.fileExists(atPath: aside.path) {
            aside = checkpoint.appendingPathExtension("damaged\(attempt)")
            attempt += 1
        }
        try renameItem(checkpoint, to: aside)
        if let newest = completeCheckpoints().last {
            try writeFileAtomically(Data((newest.url.lastPathComponent + "\n").utf8), to: latestPointer)
        } else {
            try? FileManager.default.removeItem(at: latestPointer)
        }
        return aside
    }

    /// Removes temporary directories left by a process that died while writing a checkpoint.
    public func removeAbandonedPartials() {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        where name.hasPrefix(".partial-") || name.hasPrefix(".stale-") {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }
}
