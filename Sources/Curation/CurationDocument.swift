import Foundation

/// One document of a curation pipeline: a line of JSONL input, `{"text": …, "meta": {…}}`. Steps read and write
/// `meta` (the source, a year, a language and its confidence, a quality or perplexity score); fields the input
/// carries besides `text` and `meta` are kept in `meta` too, so nothing a user supplied is lost.
public struct CurationDocument: Equatable, Sendable {
    public var text: String
    public var meta: [String: MetaValue]
    /// The document's place in the input: counted from 0 over all input files in order. Steps that keep the first of
    /// a group (exact and near dedup) and the near-duplicate clusters name documents by it; it is not written out.
    public var index: Int
    /// The line of its JSONL file (from 1); 0 for a text file, which is one document.
    public var line: Int

    public init(text: String, meta: [String: MetaValue] = [:], index: Int = 0, line: Int = 0) {
        self.text = text
        self.meta = meta
        self.index = index
        self.line = line
    }

    /// `meta.source` (the input file's name unless the input gave one), "" when absent.
    public var source: String { meta["source"]?.string ?? "" }

    /// Where to find the document, for people: "corpus.jsonl line 17", "hamlet.txt".
    public var origin: String { line > 0 ? "\(source) line \(line)" : source }

    /// The value of `field` in meta: the key itself, else a dotted path into nested objects (`lang.score`).
    public func metaValue(_ field: String) -> MetaValue? {
        if let value = meta[field] { return value }
        guard field.contains(".") else { return nil }
        var parts = field.split(separator: ".", omittingEmptySubsequences: false).map(String.init)[...]
        var current = meta[parts.removeFirst()]
        for part in parts {
            guard case .object(let object)? = current else { return nil }
            current = object[part]
        }
        return current
    }
}

/// A JSON value in a document's `meta`, written back with its keys sorted so that output is byte-identical run to run.
/// Numbers are Doubles: integers are exact up to 2^53.
public indirect enum MetaValue: Equatable, Sendable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([MetaValue])
    case object([String: MetaValue])

    public var string: String? { if case .string(let value) = self { return value } else { return nil } }
    public var number: Double? { if case .number(let value) = self { return value } else { return nil } }
}
