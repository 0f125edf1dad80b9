import FileErrors
import Foundation

/// A token shard in llm.c's format (karpathy/llm.c, dev/data/data_common.py `write_datafile`): a 1024-byte header
/// of 256 little-endian Int32 — magic, version, token count, zeros — then the tokens, little-endian:
/// UInt16 (magic 20240520, version 1) or, when the vocabulary exceeds 65,535, UInt32 (magic 20240801, version 7).
public struct TokenShard {
    public static let headerBytes = 1024
    public static let magic16: Int32 = 20240520, version16: Int32 = 1
    public static let magic32: Int32 = 20240801, version32: Int32 = 7

    /// The tokens of a shard, after checking its header against its size.
    public static func read(_ url: URL) throws -> [Int32] {
        let data = try contents(url)
        let (count, width) = try header(data, url: url)
        return data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + headerBytes
            if width == 2 {
                return (0..<count).map { Int32(UInt16(littleEndian: (base + 2 * $0).loadUnaligned(as: UInt16.self))) }
            }
            return (0..<count).map { Int32(bitPattern: UInt32(littleEndian: (base + 4 * $0).loadUnaligned(as: UInt32.self))) }
        }
    }

    /// The tokens of a shard, each checked to lie in 0..<vocabularySize: an id outside the vocabulary would index
    /// past the model's embedding table, so it is refused at load, naming the shard, the id and its position.
    public static func read(_ url: URL, vocabularySize: Int) throws -> [Int32] {
        let tokens = try read(url)
        if let position = tokens.firstIndex(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw TokenShardError(file: url.path, message: "token id \(UInt32(bitPattern: tokens[position])) at position "
                + "\(position) is outside the vocabulary of \(vocabularySize) tokens")
        }
        return tokens
    }

    /// The number of tokens a shard holds, from its header and size (the tokens are not read).
    public static func tokenCount(_ url: URL) throws -> Int {
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw TokenShardError(file: url.path, message: "cannot open the file")
        }
        defer { try? handle.close() }
        let head = handle.readData(ofLength: headerBytes)
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? head.count
        return try header(head, url: url, fileSize: size).count
    }

    /// Writes `tokens` (each in 0..<vocabularySize) atomically: a temporary file in the same directory, renamed.
    public static func write(_ tokens: [Int32], vocabularySize: Int, to url: URL) throws {
        let wide = vocabularySize > 65_535
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw TokenShardError(file: url.path, message: "token \(bad) is outside the vocabulary of \(vocabularySize)")
        }
        guard tokens.count <= Int(Int32.max) else {
            throw TokenShardError(file: url.path, message: "\(tokens.count) tokens do not fit one shard (Int32 count)")
        }
        var data = Data(count: headerBytes + tokens.count * (wide ? 4 : 2))
        data.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            for (index, value) in [wide ? magic32 : magic16, wide ? version32 : version16, Int32(tokens.count)].enumerated() {
                (base + 4 * index).storeBytes(of: value.littleEndian, as: Int32.self)
            }
            let body = base + headerBytes
            if wide {
                for (i, token) in tokens.enumerated() { (body + 4 * i).storeBytes(of: UInt32(token).littleEndian, as: UInt32.self) }
            } else {
                for (i, token) in tokens.enumerated() { (body + 2 * i).storeBytes(of: UInt16(token).littleEndian, as: UInt16.self) }
            }
        }
        do { try data.write(to: url, options: .atomic) } catch {
            throw TokenShardError(file: url.path, message: "cannot write: \(FileError.reason(error, path: url.path))")
        }
    }

    private static func contents(_ url: URL) throws -> Data {
        do { return try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw TokenShardError(file: url.path, message: "cannot read the file: \(FileError.reason(error, path: url.path))")
        }
    }

    /// Validates the header: (token count, bytes per token).
    private static func header(_ data: Data, url: URL, fileSize: Int? = nil) throws -> (count: Int, width: Int) {
        let size = fileSize ?? data.count
        guard data.count >= headerBytes else {
            throw TokenShardError(file: url.path, message: "truncated header: the file has \(size) bytes, a shard starts with \(headerBytes)")
        }
        let fields = data.withUnsafeBytes { raw in
            (0..<3).map { Int32(littleEndian: (raw.baseAddress! + 4 * $0).loadUnaligned(as: Int32.self)) }
        }
        let (magic, version, count) = (fields[0], fields[1], Int(fields[2]))
        let width: Int
        switch magic {
        case magic16: width = 2
        case magic32: width = 4
        default:
            throw TokenShardError(file: url.path, message: "bad magic \(magic) (expected \(magic16) for UInt16 tokens or \(magic32) for UInt32 tokens)")
        }
        let expectedVersion = width == 2 ? version16 : version32
        guard version == expectedVersion else {
            throw TokenShardError(file: url.path, message: "unsupported version \(version) for magic \(magic) (expected \(expectedVersion))")
        }
        guard count >= 0 else { throw TokenShardError(file: url.path, message: "negative token count \(count) in the header") }
        let held = size - headerBytes
        if held < count * width {
            throw TokenShardError(file: url.path, message: "truncated: the header says \(count) tokens (\(count * width) bytes) but the file holds \(held) bytes after the header")
        }
        if held > count * width {
            throw TokenShardError(file: url.path, message: "token count mismatch: the header says \(count) tokens (\(count * width) bytes) but the file holds \(held) bytes after the header")
        }
        return (count, width)
    }
}

public struct TokenShardError: Error, CustomStringConvertible {
    public var file: String
    public var message: String
    public var description: String { "\(file): \(message)" }
}
