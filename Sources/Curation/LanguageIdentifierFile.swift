import FileErrors
import Foundation

/// The language identifier's file (`.langid`): what it counted, so that a reader rebuilds the same model.
///
///     bytes 0..<8     "LANGID01"
///     bytes 8..<16    header length H, UInt64 little-endian
///     H bytes         header, UTF-8 JSON (padded with spaces to a multiple of 8):
///                     {"format": "langid", "version": 1, "features": "fnv1a64-char-ngrams-v1",
///                      "buckets": B, "max_order": N, "smoothing": α, "labels": [L names], "documents": [L counts]}
///     L × B × 4 bytes n-gram counts, UInt32 little-endian, label-major
///
/// `features` names the n-gram extraction and hash (`CharacterNGrams`); a file made with another is refused rather
/// than read into a model that would look up the wrong buckets. Every size the header declares is checked against
/// the configuration's bounds and against the file's length before anything is allocated, so a truncated or corrupt
/// file is a one-line error naming it.
extension LanguageIdentifier {
    static let fileMagic = Array("LANGID01".utf8)
    static let fileFormat = "langid"
    static let fileVersion = 1
    static let featureName = "fnv1a64-char-ngrams-v1"
    /// The header of 1,000 labels of 256 bytes is about 260 KB; anything larger is not a header.
    static let maximumHeaderBytes = 1 << 20
    static let maximumLabelBytes = 256

    struct FileHeader: Codable {
        var format: String
        var version: Int
        var features: String
        var buckets: Int
        var maxOrder: Int
        var smoothing: Double
        var labels: [String]
        var documents: [Int]

        enum CodingKeys: String, CodingKey {
            case format, version, features, buckets, maxOrder = "max_order", smoothing, labels, documents
        }
    }

    /// Writes the model to `url` atomically (a temporary file in the same directory, renamed).
    public func write(to url: URL) throws {
        let header = FileHeader(format: Self.fileFormat, version: Self.fileVersion, features: Self.featureName,
                                buckets: configuration.buckets, maxOrder: configuration.maxOrder,
                                smoothing: configuration.smoothing, labels: labels, documents: documentCounts)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var headerBytes = [UInt8](try encoder.encode(header))
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }   // the counts start 8-byte aligned

        var data = Data(Self.fileMagic)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        data.reserveCapacity(data.count + counts.count * 4)
        if UInt32(1).littleEndian == 1 {
            counts.withUnsafeBytes { raw in data.append(raw.bindMemory(to: UInt8.self).baseAddress!, count: raw.count) }
        } else {
            for count in counts { withUnsafeBytes(of: count.littleEndian) { data.append(contentsOf: $0) } }
        }
        try FileError.wrap("write the language identifier", path: url.path) { try data.write(to: url, options: .atomic) }
    }

    /// Reads a model written by `write(to:)`.
    public static func load(from url: URL) throws -> LanguageIdentifier {
        let data = try FileError.wrap("read the language identifier", path: url.path) {
            try Data(contentsOf: url, options: .alwaysMapped)
        }
        func corrupt(_ reason: String) -> FileError {
            FileError(path: url.path, operation: "read the language identifier", reason: reason)
        }
        guard data.count >= 16, Array(data.prefix(8)) == fileMagic else {
            throw corrupt("it is not a language identifier file (no LANGID01 header)")
        }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        guard headerLength <= UInt64(maximumHeaderBytes) else {
            throw corrupt("its header length \(headerLength) is over the \(maximumHeaderBytes)-byte limit (a corrupt file)")
        }
        guard UInt64(data.count - 16) >= headerLength else {
            throw corrupt("it is truncated: the header declares \(headerLength) bytes, \(data.count - 16) follow")
        }
        let countsOffset = 16 + Int(headerLength)
        let header: FileHeader
        do {
            header = try JSONDecoder().decode(FileHeader.self, from: data.subdata(in: 16..<countsOffset))
        } catch let DecodingError.keyNotFound(key, _) {
            throw corrupt("its header has no '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw corrupt("its header's '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch {
            throw corrupt("its header is not valid JSON")
        }
        guard header.format == fileFormat else { throw corrupt("its format is '\(header.format)', not '\(fileFormat)'") }
        guard header.version == fileVersion else {
            throw corrupt("it is version \(header.version); this build reads version \(fileVersion)")
        }
        guard header.features == featureName else {
            throw corrupt("its n-grams are '\(header.features)'; this build computes '\(featureName)'")
        }
        let configuration = Configuration(buckets: header.buckets, maxOrder: header.maxOrder, smoothing: header.smoothing)
        if let problem = configuration.problem { throw corrupt(problem) }
        let labels = header.labels
        guard (1...Configuration.maximumLabels).contains(labels.count) else {
            throw corrupt("it has \(labels.count) labels; 1…\(Configuration.maximumLabels) are allowed")
        }
        if let bad = labels.first(where: { $0.isEmpty || $0.utf8.count > maximumLabelBytes }) {
            throw corrupt("its label '\(bad.prefix(40))' is empty or longer than \(maximumLabelBytes) bytes")
        }
        guard labels == labels.sorted(), Set(labels).count == labels.count else {
            throw corrupt("its labels are not distinct and sorted")
        }
        guard header.documents.count == labels.count, header.documents.allSatisfy({ $0 >= 0 }) else {
            throw corrupt("it has \(header.documents.count) document counts for \(labels.count) labels, or a negative one")
        }
        // Both factors are bounded above, so the product cannot overflow.
        let cells = labels.count * configuration.buckets
        let present = data.count - countsOffset
        guard present == cells * 4 else {
            let problem = present < cells * 4 ? "it is truncated" : "it has \(present - cells * 4) bytes too many"
            throw corrupt("\(problem): \(labels.count) labels × \(configuration.buckets) buckets need \(cells * 4) bytes of counts, \(present) follow the header")
        }
        var counts = [UInt32](repeating: 0, count: cells)
        counts.withUnsafeMutableBytes { destination in
            data.withUnsafeBytes { source in
                destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[countsOffset...]))
            }
        }
        if UInt32(1).littleEndian != 1 { counts = counts.map { UInt32(littleEndian: $0) } }
        return LanguageIdentifier(configuration: configuration, labels: labels, documentCounts: header.documents,
                                  counts: counts)
    }
}
