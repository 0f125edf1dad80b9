import Foundation

/// The CRC-32C and size of every file of a checkpoint, recorded in its COMPLETE marker when it is written and
/// checked whenever it is loaded: a flipped bit in a tensor's data leaves a readable header, so without it a damaged
/// checkpoint loads, evaluates to NaN and is resumed from as if it were good. A marker line per file:
///
///     crc32c 8e2a1f3b 1048576 model.safetensors
///
/// after the marker's own text ("step 200"). Markers written before checksums have no such lines; their
/// checkpoints load unchecked.
public struct CheckpointManifest: Equatable {
    public struct Entry: Equatable {
        public var name: String
        public var size: Int
        public var crc: UInt32
    }

    public var entries: [Entry]

    static let prefix = "crc32c "

    /// The checksums of the regular files in `directory` (a checkpoint being written), by name.
    static func make(of directory: URL) throws -> CheckpointManifest {
        var entries: [Entry] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() {
            let url = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let (crc, size) = try CRC32C.checksum(ofFileAt: url)
            entries.append(Entry(name: name, size: size, crc: crc))
        }
        return CheckpointManifest(entries: entries)
    }

    /// The marker's lines for these entries.
    var lines: String {
        entries.map { "\(Self.prefix)\(String(format: "%08x", $0.crc)) \($0.size) \($0.name)\n" }.joined()
    }

    /// The entries of a COMPLETE marker's text; nil when it has none (a checkpoint written before checksums).
    init?(marker: String) {
        entries = marker.split(separator: "\n").compactMap { line -> Entry? in
            guard line.hasPrefix(Self.prefix) else { return nil }
            let fields = line.dropFirst(Self.prefix.count).split(separator: " ", maxSplits: 2)
            guard fields.count == 3, let crc = UInt32(fields[0], radix: 16), let size = Int(fields[1]) else { return nil }
            return Entry(name: String(fields[2]), size: size, crc: crc)
        }
        if entries.isEmpty { return nil }
    }

    init(entries: [Entry]) { self.entries = entries }

    /// Throws naming the first file of `directory` that is missing or differs from its entry.
    func verify(_ directory: URL) throws {
        for entry in entries {
            let file = directory.appendingPathComponent(entry.name)
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw CheckpointError("\(file.path): missing, though the checkpoint's \(Checkpoint.completeMarker) marker lists it")
            }
            let (crc, size) = try CRC32C.checksum(ofFileAt: file)
            guard size == entry.size else {
                throw CheckpointError("\(file.path): checksum mismatch (\(size) bytes, written with \(entry.size)): the file changed after its checkpoint was written")
            }
            guard crc == entry.crc else {
                throw CheckpointError("\(file.path): checksum mismatch (crc32c \(String(format: "%08x", crc)), written with "
                    + "\(String(format: "%08x", entry.crc))): the file changed after its checkpoint was written")
            }
        }
    }
}

extension Checkpoint {
    /// Checks every file of a complete checkpoint against the checksums its marker records (none for checkpoints
    /// written before them); throws "…: checksum mismatch" naming the damaged file.
    public static func verify(_ directory: URL) throws {
        let marker = directory.appendingPathComponent(completeMarker)
        guard let text = try? String(contentsOf: marker, encoding: .utf8) else {
            throw CheckpointError("\(directory.path): checkpoint is incomplete (no readable \(completeMarker) marker)")
        }
        try CheckpointManifest(marker: text)?.verify(directory)
    }
}
