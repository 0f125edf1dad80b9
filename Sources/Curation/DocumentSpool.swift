import Foundation

/// The documents between two passes of a run (see `CurationStep`), in a file of the output's temporary directory:
/// one record a document, `index, line, meta length, text length` (little-endian 64/64/32/32 bits), then the meta
/// as JSON and the text's UTF-8. Written and read back in order, a chunk at a time.
enum DocumentSpool {
    final class Writer {
        private let file: BufferedFileWriter
        init(_ url: URL) throws { file = try BufferedFileWriter(url) }

        func write(_ document: CurationDocument) throws {
            var meta: [UInt8] = []
            appendJSONObject(document.meta, to: &meta)
            var text = document.text
            let textCount = text.utf8.count
            precondition(meta.count <= UInt32.max && textCount <= UInt32.max, "a document too large for the spool")
            withUnsafeBytes(of: Int64(document.index).littleEndian) { file.buffer.append(contentsOf: $0) }
            withUnsafeBytes(of: Int64(document.line).littleEndian) { file.buffer.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt32(meta.count).littleEndian) { file.buffer.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt32(textCount).littleEndian) { file.buffer.append(contentsOf: $0) }
            file.buffer.append(contentsOf: meta)
            text.withUTF8 { file.buffer.append(contentsOf: $0) }
            try file.flushIfFull()
        }

        func close() throws { try file.close() }
    }

    /// Calls `body` with each document of the spool at `url`, in the order they were written.
    static func forEach(_ url: URL, _ body: (CurationDocument) throws -> Void) throws {
        let reader = try ChunkedFileReader(url)
        while let header = try reader.read(exactly: 24) {
            let (index, line, metaCount, textCount) = header.withUnsafeBytes { raw in
                (Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: Int64.self))),
                 Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: Int64.self))),
                 Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self))),
                 Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 20, as: UInt32.self))))
            }
            guard let metaBytes = try reader.read(exactly: metaCount), let textBytes = try reader.read(exactly: textCount),
                  case .object(let meta)? = metaBytes.withUnsafeBufferPointer({ JSONValueParser.parse($0) }) else {
                throw CurationError("\(url.path): the spool is damaged")
            }
            try body(CurationDocument(text: String(decoding: textBytes, as: UTF8.self), meta: meta, index: index, line: line))
        }
    }
}
