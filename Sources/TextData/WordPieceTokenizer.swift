import Foundation

/// BERT's WordPiece (Wu et al. 2016; Devlin et al. 2019): added tokens ([CLS], [MASK], ...) are matched first,
/// the rest is normalised (`BertNormalizer`), cut into words (`BertPreTokenizer`), and each word is split
/// greedily into the longest vocabulary entries from the left, pieces after the first carrying the
/// continuation prefix "##". A word with no such split, or longer than `maxInputCharactersPerWord`, becomes the
/// unknown token. Reads Hugging Face tokenizer.json (it does not train).
public final class WordPieceTokenizer: Tokenizer {
    public let vocabulary: [String]            // by id
    public let addedTokens: [AddedToken]
    public let normalizer: BertNormalizer?
    public let unknownToken: String
    public let continuationPrefix: String
    public let maxInputCharactersPerWord: Int
    /// The decoder's clean-up of spaces before punctuation (Hugging Face WordPiece decoder `cleanup`).
    public let cleanUpDecodedSpaces: Bool

    public var vocabularySize: Int { vocabulary.count }

    private let tokenIDs: [String: Int]
    private let unknownID: Int
    private let matcher: AddedTokenMatcher
    private let lock = NSLock()
    private var wordCache = [String: [Int]]()

    public init(vocabulary: [String: Int], addedTokens: [AddedToken] = [], normalizer: BertNormalizer? = BertNormalizer(),
                unknownToken: String = "[UNK]", continuationPrefix: String = "##", maxInputCharactersPerWord: Int = 100,
                cleanUpDecodedSpaces: Bool = true, source: String = "tokenizer") throws {
        try checkTokenIDs(vocabulary, addedTokens, source: source)
        var size = (vocabulary.values.max() ?? -1) + 1
        for token in addedTokens { size = max(size, token.id + 1) }
        var strings = [String](repeating: "", count: size)
        for (token, id) in vocabulary { strings[id] = token }
        var ids = vocabulary
        for token in addedTokens {
            strings[token.id] = token.content
            ids[token.content] = token.id
        }
        guard let unknownID = ids[unknownToken] else {
            throw TokenizerFileError(file: source, key: "model.unk_token", message: "\"\(unknownToken)\" is not in model.vocab")
        }
        self.vocabulary = strings
        self.tokenIDs = ids
        self.unknownID = unknownID
        self.addedTokens = addedTokens.sorted { $0.id < $1.id }
        self.normalizer = normalizer
        self.unknownToken = unknownToken
        self.continuationPrefix = continuationPrefix
        self.maxInputCharactersPerWord = maxInputCharactersPerWord
        self.cleanUpDecodedSpaces = cleanUpDecodedSpaces
        self.matcher = AddedTokenMatcher(addedTokens)
    }

    public convenience init(contentsOf url: URL) throws {
        try self.init(TokenizerFile(contentsOf: url))
    }

    convenience init(_ file: TokenizerFile) throws {
        let type = try file.string("model.type")
        guard type == "WordPiece" else { throw file.error("model.type", "expected \"WordPiece\", found \"\(type)\"") }
        var normalizer: BertNormalizer?
        if file.value("normalizer") != nil {
            let kind = try file.string("normalizer.type")
            guard kind == "BertNormalizer" else {
                throw file.error("normalizer.type", "\"\(kind)\" is not supported (expected \"BertNormalizer\")")
            }
            let lowercase = try file.bool("normalizer.lowercase", default: true)
            let strip: Bool? = file.value("normalizer.strip_accents") == nil
                ? nil : try file.bool("normalizer.strip_accents", default: lowercase)
            normalizer = BertNormalizer(cleanText: try file.bool("normalizer.clean_text", default: true),
                                        handleChineseCharacters: try file.bool("normalizer.handle_chinese_chars", default: true),
                                        stripAccents: strip, lowercase: lowercase)
        }
        if file.value("pre_tokenizer") != nil {
            let kind = try file.string("pre_tokenizer.type")
            guard kind == "BertPreTokenizer" else {
                throw file.error("pre_tokenizer.type", "\"\(kind)\" is not supported (expected \"BertPreTokenizer\")")
            }
        }
        var cleanup = true
        if file.value("decoder") != nil {
            let kind = try file.string("decoder.type")
            guard kind == "WordPiece" else {
                throw file.error("decoder.type", "\"\(kind)\" is not supported (expected \"WordPiece\")")
            }
            cleanup = try file.bool("decoder.cleanup", default: true)
        }
        let maxCharacters = file.value("model.max_input_chars_per_word") == nil ? 100 : try file.int("model.max_input_chars_per_word")
        try self.init(vocabulary: file.vocabulary(), addedTokens: file.addedTokens(), normalizer: normalizer,
                      unknownToken: file.optionalString("model.unk_token") ?? "[UNK]",
                      continuationPrefix: file.optionalString("model.continuing_subword_prefix") ?? "##",
                      maxInputCharactersPerWord: maxCharacters, cleanUpDecodedSpaces: cleanup, source: file.path)
    }

    public func id(of token: String) -> Int? { tokenIDs[token] }

    public func specialTokenID(_ token: String) -> Int? {
        addedTokens.first { $0.content == token }?.id ?? tokenIDs[token]
    }

    /// Whether a token begins a word (is not a "##" continuation), for whole-word masking.
    public func isWordStart(_ id: Int) -> Bool {
        vocabulary.indices.contains(id) && !vocabulary[id].hasPrefix(continuationPrefix)
    }

    // MARK: Encode

    public func encode(_ text: String) -> [Int] {
        var text = text
        let stretches: [(text: String?, id: Int)] = text.withUTF8 { bytes in
            var stretches = [(text: String?, id: Int)]()
            matcher.split(bytes, text: { range in
                stretches.append((String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self), -1))
            }, token: { stretches.append((nil, $0)) })
            return stretches
        }
        lock.lock()
        defer { lock.unlock() }
        var ids = [Int]()
        for stretch in stretches {
            guard let piece = stretch.text else {
                ids.append(stretch.id)
                continue
            }
            for word in BertPreTokenizer.words(normalizer?.normalize(piece) ?? piece) {
                if let cached = wordCache[word] {
                    ids.append(contentsOf: cached)
                } else {
                    let pieces = wordPieces(word)
                    if wordCache.count < 1 << 18 { wordCache[word] = pieces }
                    ids.append(contentsOf: pieces)
                }
            }
        }
        return ids
    }

    /// Greedy longest-match-first split of one word (Hugging Face `WordPiece::tokenize`).
    func wordPieces(_ word: String) -> [Int] {
        let scalars = Array(word.unicodeScalars)
        if scalars.count > maxInputCharactersPerWord { return [unknownID] }
        var pieces = [Int]()
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var found: Int?
            while start < end {
                var candidate = String(String.UnicodeScalarView(scalars[start..<end]))
                if start > 0 { candidate = continuationPrefix + candidate }
                if let id = tokenIDs[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else { return [unknownID] }
            pieces.append(id)
            start = end
        }
        return pieces
    }

    // MARK: Decode

    /// Pieces joined by spaces, continuation pieces glued to the previous one (Hugging Face WordPiece decoder).
    public func decode(_ ids: [Int]) -> String {
        var text = ""
        for (index, id) in ids.enumerated() where vocabulary.indices.contains(id) {
            var token = vocabulary[id]
            if index > 0 {
                if token.hasPrefix(continuationPrefix) {
                    token.removeFirst(continuationPrefix.count)
                } else {
                    token = " " + token
                }
            }
            text += cleanUpDecodedSpaces ? Self.cleanUp(token) : token
        }
        return text
    }

    static func cleanUp(_ text: String) -> String {
        var text = text
        for (dirty, clean) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                               (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            text = text.replacingOccurrences(of: dirty, with: clean)
        }
        return text
    }
}
