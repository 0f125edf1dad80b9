import TextData
import TextTasks

/// How a classifier is fine-tuned: a new head on a pooled state (`head`), or the pre-trained LM head's logits of the
/// labels' verbaliser tokens inside the task's prompt (`prompt`, LM-BFF).
public enum FineTuningMethod: String, CaseIterable, Codable, Sendable {
    case head
    case prompt
}

/// How a text becomes the token ids of a prompt-based classifier, and which vocabulary id stands for each label
/// (Gao et al. 2021, LM-BFF §4: a template and a label word per class).
///
/// A masked LM reads the task's cloze (`prompt.cloze`, e.g. "{text} This speech is from a{mask}.") between the
/// special tokens `ClassifierInputs` puts around a text, with the tokenizer's `[MASK]` (as masked-LM pre-training
/// finds it) for `{mask}`; a decoder reads `<|endoftext|>` and the template (`prompt.template`, e.g.
/// "{text}\nThis speech is from a"), and its next token is the answer. Each literal piece of the prompt is tokenized
/// on its own, so the text can be cut at a token without touching the prompt: a text too long for `maxLength` keeps
/// its first tokens and the whole prompt stays. The mask id is removed from the text's own tokens (a text that spells
/// "[MASK]"), so each cloze holds exactly one.
///
/// A label's token is the first token of its verbaliser words (" comedy" → "Ġcomedy"). LM-BFF requires label words of
/// one token; a longer one is represented by its first token (`multiTokenLabels` names them), and two labels whose
/// first tokens coincide cannot be told apart, which is an error.
public struct PromptInputs {
    /// A stretch of the prompt: fixed ids, the text's place, the mask's place.
    public enum Piece: Equatable, Sendable {
        case tokens([Int32])
        case text
        case mask
    }

    public let pieces: [Piece]
    public let labels: [String]
    /// Per label, in class-index order, the first token of its verbaliser words.
    public let labelTokens: [Int32]
    /// Labels whose verbaliser words are more than one token (their first token stands for them).
    public let multiTokenLabels: [String]
    /// The masked LM's mask id; nil for a decoder.
    public let maskToken: Int32?
    public let maxLength: Int
    let tokenizer: Tokenizer

    /// The text of each label's token (" comedy", or " com" when that word is several tokens).
    public var labelTokenTexts: [String] { labelTokens.map { tokenizer.decode([Int($0)]) } }

    /// Tokens of the prompt without the text, special tokens included.
    public var promptLength: Int {
        pieces.reduce(0) { count, piece in
            switch piece {
            case .tokens(let ids): return count + ids.count
            case .mask: return count + 1
            case .text: return count
            }
        }
    }

    /// `inputs` gives the tokenizer, the special tokens around the prompt and `maxLength`; `decoder` picks the template
    /// (else the cloze); `vocabularySize` is the model's; `source` (the tokenizer file) is named by errors.
    public init(task: TextTask, inputs: ClassifierInputs, decoder: Bool, vocabularySize: Int, source: String) throws {
        let taskFile = task.directory.appendingPathComponent("task.yaml").path
        guard let prompt = task.definition.prompt else {
            throw FineTuningError("\(taskFile) has no prompt (template, cloze, verbalizer), which --method prompt needs")
        }
        let tokenizer = inputs.tokenizer
        self.tokenizer = tokenizer
        labels = task.labels
        maxLength = inputs.maxLength
        let key = decoder ? "prompt.template" : "prompt.cloze"
        let text = decoder ? prompt.template : prompt.cloze
        if decoder {
            maskToken = nil
        } else {
            guard let mask = tokenizer.specialTokenID("[MASK]") else {
                throw FineTuningError("\(source): the tokenizer has no [MASK] token, which a BERT's cloze (--method prompt) needs")
            }
            maskToken = Int32(mask)
        }
        for (placeholder, wanted) in [("{text}", 1), ("{mask}", decoder ? 0 : 1)] {
            let count = text.components(separatedBy: placeholder).count - 1
            guard count == wanted else {
                throw FineTuningError("\(taskFile): '\(key)' holds \(placeholder) \(count) times; --method prompt needs it \(wanted == 1 ? "once" : "not at all")")
            }
        }
        // The template's literal stretches between {text} and {mask}, each tokenized alone.
        var pieces: [Piece] = inputs.prefix.isEmpty ? [] : [.tokens(inputs.prefix)]
        var rest = Substring(text)
        while !rest.isEmpty {
            let next = ["{text}", "{mask}"].compactMap { placeholder in rest.range(of: placeholder).map { (placeholder, $0) } }
                .min { $0.1.lowerBound < $1.1.lowerBound }
            let literal = next.map { rest[..<$0.1.lowerBound] } ?? rest
            if !literal.isEmpty { pieces.append(.tokens(tokenizer.encode(String(literal)).map(Int32.init))) }
            guard let (placeholder, range) = next else { break }
            pieces.append(placeholder == "{text}" ? .text : .mask)
            rest = rest[range.upperBound...]
        }
        if !inputs.suffix.isEmpty { pieces.append(.tokens(inputs.suffix)) }
        self.pieces = pieces

        var labelTokens: [Int32] = [], multiToken: [String] = []
        for label in task.labels {
            let words = prompt.verbalizer[label]!
            let ids = tokenizer.encode(words)
            guard let first = ids.first else {
                throw FineTuningError("task \(task.name): the verbaliser words of label '\(label)' (\"\(words)\") give no tokens")
            }
            guard first < vocabularySize else {
                throw FineTuningError("task \(task.name): the first token of label '\(label)' (\"\(words)\") is id \(first), outside the model's \(vocabularySize)")
            }
            if let other = labelTokens.firstIndex(of: Int32(first)) {
                let otherLabel = task.labels[other]
                throw FineTuningError("task \(task.name): labels '\(otherLabel)' (\"\(prompt.verbalizer[otherLabel]!)\") and '\(label)' "
                    + "(\"\(words)\") begin with the same token \"\(tokenizer.decode([first]))\" (id \(first)); prompt-based "
                    + "fine-tuning reads one token per label, so their first tokens must differ")
            }
            labelTokens.append(Int32(first))
            if ids.count > 1 { multiToken.append(label) }
        }
        self.labelTokens = labelTokens
        multiTokenLabels = multiToken

        guard promptLength < maxLength else {
            throw FineTuningError("--max-length \(maxLength): the prompt of task \(task.name) takes \(promptLength) tokens without the text, leaving it no room")
        }
    }

    /// The ids of `text` inside the prompt: the text's first tokens (as many as fit in `maxLength`), the whole prompt.
    public func encode(_ text: String) -> [Int32] {
        let room = maxLength - promptLength
        let mask = maskToken.map { Int($0) } ?? -1
        let textIDs: [Int32] = tokenizer.encode(text).lazy.filter { $0 != mask }.prefix(room).map { Int32($0) }
        return pieces.flatMap { piece -> [Int32] in
            switch piece {
            case .tokens(let ids): return ids
            case .text: return textIDs
            case .mask: return [maskToken!]
            }
        }
    }
}
