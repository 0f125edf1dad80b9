import Foundation

/// Text ⇄ token ids. `encode` adds no special tokens (no [CLS]/[SEP], no end-of-text): the caller decides where
/// documents and sequences start.
public protocol Tokenizer: AnyObject {
    /// One more than the largest id (ids of added tokens included).
    var vocabularySize: Int { get }
    func encode(_ text: String) -> [Int]
    /// The text of the ids; special tokens are written as their content ("<|endoftext|>").
    func decode(_ ids: [Int]) -> String
    /// The id of a special token such as "<|endoftext|>", "[MASK]", "[CLS]", "[SEP]", "[PAD]", or nil.
    func specialTokenID(_ token: String) -> Int?
}

/// Reads a Hugging Face tokenizer.json and returns the tokenizer its `model.type` names: "BPE" (byte-level, as
/// GPT-2 and RoBERTa) → `ByteLevelBPETokenizer`, "WordPiece" (BERT) → `WordPieceTokenizer`.
public func loadTokenizer(_ url: URL) throws -> Tokenizer {
    let file = try TokenizerFile(contentsOf: url)
    let type = try file.string("model.type")
    switch type {
    case "BPE": return try ByteLevelBPETokenizer(file)
    case "WordPiece": return try WordPieceTokenizer(file)
    default: throw file.error("model.type", "unsupported model type \"\(type)\" (expected \"BPE\" or \"WordPiece\")")
    }
}

/// The largest vocabulary a tokenizer may have: 16 times Gemma's 262,144. Tables are indexed by id, so one absurd id
/// in a tokenizer.json ("the": 100000000) would otherwise allocate gigabytes before anything is checked.
public let maxVocabularySize = 1 << 22

/// Throws unless every id is in 0..<maxVocabularySize: before the tables sized by the largest id are allocated.
func checkTokenIDs(_ vocabulary: [String: Int], _ addedTokens: [AddedToken], source: String) throws {
    let ids = vocabulary.map { (key: "model.vocab", token: $0.key, id: $0.value) }
        + addedTokens.map { (key: "added_tokens", token: $0.content, id: $0.id) }
    if let bad = ids.first(where: { $0.id < 0 || $0.id >= maxVocabularySize }) {
        throw TokenizerFileError(file: source, key: bad.key,
                                 message: "the id \(bad.id) of \"\(bad.token)\" is outside 0..<\(maxVocabularySize), the ids a vocabulary may use")
    }
}

/// A tokenizer file that cannot be used: names the file, the JSON key and what is wrong with it, on one line (line
/// breaks of tokens quoted from the file are escaped).
public struct TokenizerFileError: Error, CustomStringConvertible {
    public var file: String
    public var key: String
    public var message: String

    public var description: String {
        let text = key.isEmpty ? "\(file): \(message)" : "\(file): \(key): \(message)"
        return text.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }
}
