import Foundation

/// Hugging Face tokenizer.json for byte-level BPE: `model` {type "BPE", vocab, merges}, `added_tokens`,
/// `pre_tokenizer` ByteLevel, `decoder` ByteLevel. What this tokenizer cannot reproduce (a normaliser, dropout,
/// subword prefixes, byte fallback, another pre-tokenizer) is an error naming the key, never silently ignored.
extension ByteLevelBPETokenizer {
    public convenience init(contentsOf url: URL) throws {
        try self.init(TokenizerFile(contentsOf: url))
    }

    convenience init(_ file: TokenizerFile) throws {
        let type = try file.string("model.type")
        guard type == "BPE" else { throw file.error("model.type", "expected \"BPE\", found \"\(type)\"") }
        if let dropout = file.value("model.dropout"), (dropout as? Double) != 0 {
            throw file.error("model.dropout", "BPE dropout is not supported")
        }
        for key in ["model.continuing_subword_prefix", "model.end_of_word_suffix"] {
            if let affix = try file.optionalString(key), !affix.isEmpty {
                throw file.error(key, "subword prefixes and suffixes are not supported by byte-level BPE")
            }
        }
        if try file.bool("model.byte_fallback", default: false) {
            throw file.error("model.byte_fallback", "byte fallback (SentencePiece-style BPE) is not supported")
        }
        if let normalizer = file.value("normalizer") {
            let type = (normalizer as? [String: Any])?["type"] as? String ?? "?"
            throw file.error("normalizer", "normalizer \"\(type)\" is not supported (byte-level BPE uses none)")
        }
        guard file.value("pre_tokenizer") != nil else {
            throw file.error("pre_tokenizer", "missing (expected {\"type\": \"ByteLevel\"})")
        }
        let preTokenizer = try file.string("pre_tokenizer.type")
        guard preTokenizer == "ByteLevel" else {
            throw file.error("pre_tokenizer.type", "\"\(preTokenizer)\" is not supported (expected \"ByteLevel\")")
        }
        guard try file.bool("pre_tokenizer.use_regex", default: true) else {
            throw file.error("pre_tokenizer.use_regex", "ByteLevel without the GPT-2 pattern is not supported")
        }
        if file.value("decoder") != nil {
            let decoder = try file.string("decoder.type")
            guard decoder == "ByteLevel" else {
                throw file.error("decoder.type", "\"\(decoder)\" is not supported (expected \"ByteLevel\")")
            }
        }
        let merges = try file.array("model.merges").enumerated().map { rank, entry -> (String, String) in
            if let pair = entry as? [Any], pair.count == 2, let left = pair[0] as? String, let right = pair[1] as? String {
                return (left, right)
            }
            if let line = entry as? String {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                if parts.count == 2 { return (String(parts[0]), String(parts[1])) }
            }
            throw file.error("model.merges[\(rank)]", "expected \"left right\" or [\"left\", \"right\"]")
        }
        try self.init(vocabulary: file.vocabulary(), merges: merges, addedTokens: file.addedTokens(),
                      addPrefixSpace: file.bool("pre_tokenizer.add_prefix_space", default: false),
                      ignoreMerges: file.bool("model.ignore_merges", default: false),
                      unknownToken: file.optionalString("model.unk_token"), source: file.path)
    }

    /// Writes tokenizer.json in the layout the Python `tokenizers` package writes (merges as [left, right]
    /// pairs, as tokenizers ≥ 0.20 does), atomically.
    public func save(to url: URL) throws {
        try Data(tokenizerJSON().utf8).write(to: url, options: .atomic)
    }

    public func tokenizerJSON() -> String {
        let byteLevel = { (addPrefixSpace: Bool, trimOffsets: Bool) in
            "{\"type\": \"ByteLevel\", \"add_prefix_space\": \(addPrefixSpace), \"trim_offsets\": \(trimOffsets), \"use_regex\": true}"
        }
        let vocab = vocabulary.enumerated().filter { inModelVocabulary[$0.offset] }
            .map { "      \(JSONText.quoted($0.element)): \($0.offset)" }
        let mergeLines = mergeStrings.map { "      [\(JSONText.quoted($0.0)), \(JSONText.quoted($0.1))]" }
        return """
        {
          "version": "1.0",
          "truncation": null,
          "padding": null,
          "added_tokens": \(JSONText.addedTokens(addedTokens)),
          "normalizer": null,
          "pre_tokenizer": \(byteLevel(addPrefixSpace, true)),
          "post_processor": \(byteLevel(true, false)),
          "decoder": \(byteLevel(true, true)),
          "model": {
            "type": "BPE",
            "dropout": null,
            "unk_token": \(unknownToken.map(JSONText.quoted) ?? "null"),
            "continuing_subword_prefix": null,
            "end_of_word_suffix": null,
            "fuse_unk": false,
            "byte_fallback": false,
            "ignore_merges": \(ignoreMerges),
            "vocab": {
        \(vocab.joined(separator: ",\n"))
            },
            "merges": [
        \(mergeLines.joined(separator: ",\n"))
            ]
          }
        }

        """
    }
}
