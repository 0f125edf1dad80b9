import Foundation

/// One document of a curation pipeline: a line of JSONL input, `{"text": …, "meta": {…}}`. Steps read and write
/// `meta` (the source, a year, a language and its confidence, a quality or perplexity score); fields the input
/// carries besides `text` and `meta` are kept in `meta` too, so nothing a user supplied is lost.
public struct CurationDocument: Equatable, Sendable {
    public var text: String
    public var meta: [String: MetaValue]

    public init(text: String, meta: [String: MetaValue] = [:]) {
        self.text = text
        self.meta = meta
    }
}

/// A JSON value in a document's `meta`, written back with its keys sorted so that output is byte-identical run to run.
public indirect enum MetaValue: Equatable, Sendable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([MetaValue])
    case object([String: MetaValue])
}
