import Foundation

/// `exact_dedup`: keeps the first document of each text and drops later copies ("exact_duplicate"). The key is a
/// 128-bit hash of the text's UTF-8 (XXH64 with seeds 0 and 1), so it is the same in every run; put `normalize`
/// first to count texts that differ only in whitespace or Unicode composition as copies. Memory: 16 bytes per
/// distinct text. No keys.
public final class ExactDedup: CurationStep {
    public static let kind = "exact_dedup"
    public static let keys: [String] = []

    private struct Key: Hashable { let low: UInt64, high: UInt64 }
    /// The first document of each text, by key.
    private var firstIndex: [Key: Int] = [:]

    public init(settings: StepSettings) throws {}

    public func apply(to document: inout CurationDocument) throws -> StepVerdict {
        var text = document.text
        let key = text.withUTF8 { bytes in
            Key(low: XXH64.hash(UnsafeRawBufferPointer(bytes), seed: 0), high: XXH64.hash(UnsafeRawBufferPointer(bytes), seed: 1))
        }
        if let first = firstIndex[key] {
            return .drop(DropReason("exact_duplicate", "exact_dedup: the same text as document \(first)"))
        }
        firstIndex[key] = document.index
        return .keep
    }
}
