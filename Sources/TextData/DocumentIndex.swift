import FileErrors
import Foundation

/// One line of a prepared corpus' documents.jsonl (`DocumentIndexWriter`): where a document's tokens lie in its
/// split's token stream, and the fields its JSONL line carried besides "text".
public struct IndexedDocument {
    public var split: String
    /// Offset of its <|endoftext|> in the split's tokens (its shards concatenated), and its token count.
    public var start: Int
    public var tokens: Int
    public var fields: [String: Any]

    /// The value at a dotted path into the fields ("meta.era" reads fields["meta"]["era"]): a string as it is, a
    /// number or boolean as its JSON text, nil when absent or an object/list.
    public func value(at path: String) -> String? {
        var current: Any = fields
        for key in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard let object = current as? [String: Any], let next = object[String(key)] else { return nil }
            current = next
        }
        if let text = current as? String { return text }
        if current is NSNull || current is [Any] || current is [String: Any] { return nil }
        return (try? JSONSerialization.data(withJSONObject: current, options: .fragmentsAllowed)).flatMap { String(data: $0, encoding: .utf8) }
    }
}

extension PreparedCorpus {
    /// The documents of documents.jsonl in order, or nil when the corpus has none (its documents carried no fields).
    public func documentIndex() throws -> [IndexedDocument]? {
        let url = directory.appendingPathComponent(Self.documentIndexName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data = try FileError.wrap("read", path: url.path) { try Data(contentsOf: url) }
        return try JSONLines.lines(data).map { number, line in
            guard let object = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any],
                  let split = object["split"] as? String, let start = object["start"] as? Int, let tokens = object["tokens"] as? Int,
                  start >= 0, tokens >= 1 else {
                throw CorpusError("\(url.path) line \(number): not a document entry {split, start, tokens, …}")
            }
            return IndexedDocument(split: split, start: start, tokens: tokens, fields: object["meta"] as? [String: Any] ?? [:])
        }
    }
}
