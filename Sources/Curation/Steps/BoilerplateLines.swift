import Foundation

/// `boilerplate_lines`: removes lines that recur across documents (navigation, licence footers, "Share this
/// article"). The corpus pass counts, for each distinct line (spaces and tabs at its ends ignored), the documents
/// it appears in; a line is boilerplate when that count is ≥ `min_documents` and more than `max_document_fraction`
/// of the documents the step saw. `apply` removes those lines; a document with no text left is dropped
/// ("boilerplate_only"). Blank lines are never counted, and removed only where a removal would leave two in a row or
/// some at the start or the end. Each kept document gets
/// `meta.boilerplate_lines_removed`.
///
/// Keys [defaults]: `max_document_fraction` [0.01], in [0, 1); `min_documents` [5], ≥ 2. Memory: about 16 bytes per
/// distinct line of the corpus.
public final class BoilerplateLines: CurationStep {
    public static let kind = "boilerplate_lines"
    public static let keys = ["max_document_fraction", "min_documents"]

    public let maxDocumentFraction: Double
    public let minDocuments: Int
    public var needsCorpusPass: Bool { true }

    /// Documents each line hash appears in.
    private var documentCounts: [UInt64: UInt32] = [:]
    private var documents = 0
    private var cutoff = UInt32.max
    private var seenInDocument = Set<UInt64>()
    private var output: [UInt8] = []

    public init(settings: StepSettings) throws {
        maxDocumentFraction = try settings.double("max_document_fraction") ?? 0.01
        minDocuments = try settings.int("min_documents") ?? 5
        guard maxDocumentFraction >= 0 && maxDocumentFraction < 1 else {
            throw settings.problem("max_document_fraction", "must be in [0, 1), got \(maxDocumentFraction)")
        }
        guard minDocuments >= 2 else { throw settings.problem("min_documents", "must be ≥ 2, got \(minDocuments)") }
    }

    public func observe(_ document: CurationDocument) throws {
        documents += 1
        seenInDocument.removeAll(keepingCapacity: true)
        var text = document.text
        text.withUTF8 { bytes in
            Self.forEachLine(bytes) { start, end, hash in
                if let hash, seenInDocument.insert(hash).inserted { documentCounts[hash, default: 0] += 1 }
            }
        }
    }

    public func finishObserving() throws {
        // More than the fraction of documents, and at least min_documents.
        let byFraction = Int((maxDocumentFraction * Double(documents)).rounded(.down)) + 1
        cutoff = UInt32(clamping: max(byFraction, minDocuments))
        documentCounts = documentCounts.filter { $0.value >= cutoff }
    }

    public func apply(to document: inout CurationDocument) throws -> StepVerdict {
        var removed = 0, keptText = false
        output.removeAll(keepingCapacity: true)
        var text = document.text
        text.withUTF8 { bytes in
            // Blank lines stay, except those a removal would leave at the start, the end or doubled.
            var first = true, lastBlank = false, removedSinceText = false, textEnd = 0
            Self.forEachLine(bytes) { start, end, hash in
                if let hash, documentCounts[hash] != nil {
                    removed += 1
                    removedSinceText = true
                    return
                }
                if hash == nil, removedSinceText, first || lastBlank { return }
                if !first { output.append(0x0A) }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<end]))
                first = false
                lastBlank = hash == nil
                if hash != nil { keptText = true; removedSinceText = false; textEnd = output.count }
            }
            if removedSinceText { output.removeSubrange(textEnd...) }   // blank lines a removal left at the end
        }
        guard keptText else {
            return .drop(DropReason("boilerplate_only", "boilerplate_lines: every line (\(removed)) is boilerplate"))
        }
        if removed > 0 { document.text = String(decoding: output, as: UTF8.self) }
        document.meta["boilerplate_lines_removed"] = .number(Double(removed))
        return .keep
    }

    /// Each line of `bytes` ("\n"-separated, a final "\n" ending the last line): its range without the "\n", and the
    /// hash of its text without spaces and tabs at the ends, nil for a blank line.
    static func forEachLine(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, Int, UInt64?) -> Void) {
        var start = 0
        let count = bytes.count
        while start < count || start == 0 {
            var end = start
            while end < count, bytes[end] != 0x0A { end += 1 }
            var (from, to) = (start, end)
            while from < to, isASCIISpace(bytes[from]) { from += 1 }
            while to > from, isASCIISpace(bytes[to - 1]) { to -= 1 }
            let hash = from < to ? XXH64.hash(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[from..<to]))) : nil
            body(start, end, hash)
            if end >= count { break }
            start = end + 1
            if start == count { break }   // the final "\n" ends the last line
        }
    }
}
