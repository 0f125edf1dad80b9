import Foundation
import TextData

/// tokenizer.json (byte-level BPE and WordPiece) through `loadTokenizer`, then what `pretrain tokenize` does with
/// an accepted tokenizer: encode text with added tokens, odd Unicode and long words, and decode the ids again.
enum TokenizerFuzzing {
    /// A byte-level BPE of 300 tokens trained on a few lines (so merges, vocab and added tokens are real).
    static let byteLevelBPE: [UInt8] = {
        let text = ["To be, or not to be, that is the question:", "Whether 'tis nobler in the mind to suffer",
                    "The slings and arrows of outrageous fortune,", "Or to take arms against a sea of troubles"]
        let tokenizer = ByteLevelBPETokenizer.train(documents: Array(Array(repeating: text, count: 4).joined()), vocabularySize: 300,
                                         minFrequency: 2, specialTokens: ["<|endoftext|>", "<|pad|>"])
        return Array(tokenizer.tokenizerJSON().utf8)
    }()

    static let wordPiece: [UInt8] = Array("""
        {
          "version": "1.0",
          "added_tokens": [
            {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
            {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
            {"id": 2, "content": "[CLS]", "special": true},
            {"id": 3, "content": "[SEP]", "special": true},
            {"id": 4, "content": "[MASK]", "special": true}
          ],
          "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null,
                         "lowercase": true},
          "pre_tokenizer": {"type": "BertPreTokenizer"},
          "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
          "model": {
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "the": 5, "to": 6, "be": 7, "or": 8,
                      "not": 9, "##s": 10, "question": 11, ",": 12, ".": 13, "a": 14, "##e": 15, "t": 16, "##o": 17, "é": 18}
          }
        }

        """.utf8)

    static let seeds = [byteLevelBPE, wordPiece]

    /// Text that reaches the encoders' corners: added tokens inside words, combining marks, CJK, emoji, control
    /// characters, a long word, a cut-off special token.
    static let sample = "<|endoftext|>To be, or not to be:<|pad|>that is\u{0301} the question [MASK]. 天地 \u{1F600}\t\r\n"
        + String(repeating: "x", count: 300) + " <|endof [CLS]a[SEP]\u{0}\u{7F}é"

    static func family(_ name: String, knownIssue: String? = nil,
                       _ mutate: @escaping (inout [UInt8], inout FuzzRandom) -> Void) -> MutationFamily {
        MutationFamily(name, knownIssue: knownIssue) { random in
            var bytes = random.pick(seeds)
            for _ in 0..<random.geometricCount(max: 3) { mutate(&bytes, &random) }
            return FuzzInput("tokenizer.json", bytes)
        }
    }

    static let target = FuzzTarget(
        name: "tokenizer", parses: "tokenizer.json, BPE and WordPiece (loadTokenizer), then encode and decode",
        seeds: seeds.map { FuzzInput("tokenizer.json", $0) },
        families: [family("bytes") { ByteMutations.havoc(&$0, &$1) }] + TextMutations.json.map { family($0.name, $0.mutate) },
        parse: { _, directory in
            let tokenizer = try loadTokenizer(directory.appendingPathComponent("tokenizer.json"))
            let ids = tokenizer.encode(sample)
            _ = tokenizer.decode(ids + [-1, tokenizer.vocabularySize, Int.max])
            _ = tokenizer.specialTokenID("<|endoftext|>")
        })
}
