import TextData

/// How a text becomes a classifier's token ids, for a checkpoint's tokenizer.
///
/// An encoder (BERT) reads `[CLS] text [SEP]` as in Devlin et al. (2019) when the tokenizer has those tokens; a BERT
/// pre-trained here on a corpus without them saw each document start with `<|endoftext|>`, which then stands first
/// (and is what `.cls` pools). Padding is `[PAD]` (0 without one): the attention mask hides it. A decoder reads
/// `<|endoftext|> text` (documents in a prepared corpus begin with it) and pads with `[PAD]`, else with
/// `<|endoftext|>`, as GPT-2 fine-tuning usually does: the classifier reads the last token that is not padding, so
/// the end-of-text token at the start is read only for an empty text. Texts longer than `maxLength` tokens (special
/// tokens included) keep their beginning.
public struct ClassifierInputs {
    public let tokenizer: Tokenizer
    public let prefix: [Int32]
    public let suffix: [Int32]
    public let padToken: Int32
    public let maxLength: Int

    /// `source`: the tokenizer file, named by errors.
    public init(tokenizer: Tokenizer, decoder: Bool, maxLength: Int, source: String) throws {
        self.tokenizer = tokenizer
        self.maxLength = maxLength
        let id = { (token: String) in tokenizer.specialTokenID(token).map { Int32($0) } }
        if decoder {
            prefix = id("<|endoftext|>").map { [$0] } ?? []
            suffix = []
            guard let pad = id("[PAD]") ?? id("<|endoftext|>") else {
                throw FineTuningError("\(source): a decoder classifier pads with [PAD] or <|endoftext|>, and the tokenizer has neither")
            }
            padToken = pad
        } else {
            guard let start = id("[CLS]") ?? id("<|endoftext|>") else {
                throw FineTuningError("\(source): a BERT classifier starts each text with [CLS] (or <|endoftext|>), and the tokenizer has neither")
            }
            prefix = [start]
            suffix = id("[CLS]") != nil ? id("[SEP]").map { [$0] } ?? [] : []
            padToken = id("[PAD]") ?? 0
        }
        guard maxLength > prefix.count + suffix.count else {
            throw FineTuningError("--max-length \(maxLength) leaves no room for text after \(prefix.count + suffix.count) special tokens")
        }
    }

    /// The ids of `text`: the special tokens around its first tokens. Never empty for a BERT; for a decoder whose
    /// tokenizer has no <|endoftext|> an empty text gives no ids (an error for the caller to name).
    public func encode(_ text: String) -> [Int32] {
        let room = maxLength - prefix.count - suffix.count
        return prefix + tokenizer.encode(text).prefix(room).map { Int32($0) } + suffix
    }
}

/// A fine-tuning that cannot run as asked: one line naming the file, flag or label at fault.
/// A fine-tuning ended by its `shouldStop` (an interrupt) before its last update; nothing of it is kept.
public struct FineTuningStopped: Error, CustomStringConvertible {
    public let step: Int
    public let steps: Int
    public var description: String { "fine-tuning interrupted after update \(step) of \(steps)" }
}

public struct FineTuningError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) {
        self.description = description.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }
}
