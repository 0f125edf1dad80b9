import Foundation
import Layers
import Objectives
import Tensors
import TextData

extension ObjectiveKind {
    /// BERT's masked language modelling.
    public static let maskedLM = ObjectiveKind(rawValue: "masked_lm")
}

/// `objective.kind: masked_lm` — BERT's masked LM over token windows; its settings are `objective.masking`.
public enum MaskedLMObjective: ObjectiveDefinition {
    public typealias Settings = MaskingSection
    public static let kind = ObjectiveKind.maskedLM
    public static let settingsKey: String? = "masking"
    public static let families: [ModelFlavor] = [.bert]
    public static let defaultSettingsAcceptedElsewhere = true
    /// Tokens that masked LM never selects nor draws as random replacements.
    static let specialTokens = ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]", "<|endoftext|>", "<s>", "</s>", "<pad>", "<unk>"]

    public static func problems(_ settings: MaskingSection, recipe: Recipe) -> [String] {
        settings.config.problem.map { ["objective.masking: \($0)"] } ?? []
    }

    public static func make(_ settings: MaskingSection, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        guard let encoder = backbone as? BertForMaskedLM else { throw TrainingError("objective masked_lm needs an encoder (BertForMaskedLM)") }
        guard let tokenizerURL = context.tokenizerURL else {
            throw TrainingError("objective masked_lm needs the corpus' tokenizer.json (for the [MASK] token)")
        }
        let tokenizer = try loadTokenizer(tokenizerURL)
        guard let mask = tokenizer.specialTokenID("[MASK]") else {
            throw TrainingError("\(tokenizerURL.path): the tokenizer has no [MASK] token, which masked_lm needs")
        }
        let config = settings.config
        if let problem = config.problem { throw TrainingError("objective.masking: \(problem)") }
        let special = Set(specialTokens.compactMap(tokenizer.specialTokenID))
        let vocabulary = encoder.config.vocabSize
        return MaskedLanguageModeling(model: encoder, config: config, maskTokenID: mask, specialTokenIDs: special,
                                      vocabularySize: vocabulary,
                                      wordStarts: settings.wholeWord ? wordStarts(tokenizer, vocabularySize: vocabulary) : nil)
    }

    /// Which ids begin a word: WordPiece pieces that do not start with "##", byte-level BPE pieces whose text
    /// starts with a space (GPT-2's "Ġ"), and special tokens.
    static func wordStarts(_ tokenizer: Tokenizer, vocabularySize: Int) -> (Int) -> Bool {
        let table: [Bool] = (0..<vocabularySize).map { id in
            let text = tokenizer.decode([id])
            if tokenizer is WordPieceTokenizer { return !text.hasPrefix("##") }
            return text.first.map { $0 == " " || $0.isNewline } ?? true
        }
        return { id in id < 0 || id >= table.count || table[id] }
    }
}

/// `objective.masking:` — BERT's masking policy (Devlin et al., 2019, §3.1): `rate` of the tokens are chosen;
/// of those, `mask_fraction` become [MASK], `random_fraction` a random token, the rest stay as they are.
public struct MaskingSection: RecipeSection {
    public var rate: Float = 0.15
    public var maskFraction: Float = 0.8
    public var randomFraction: Float = 0.1
    /// Choose whole words (all pieces of a word together).
    public var wholeWord = false
    /// Mean span length for span masking (SpanBERT); nil: single tokens.
    public var spanLength: Int?
    /// Longest span (span masking).
    public var maxSpanLength = 10

    public init() {}

    public static let keys: [RecipeKey<MaskingSection>] = [
        .init("rate", \.rate), .init("mask_fraction", \.maskFraction), .init("random_fraction", \.randomFraction),
        .init("whole_word", \.wholeWord), .init("span_length", \.spanLength), .init("max_span_length", \.maxSpanLength),
    ]

    public var config: MaskingConfig {
        MaskingConfig(rate: rate, maskFraction: maskFraction, randomFraction: randomFraction, wholeWord: wholeWord,
                      spanLength: spanLength, maxSpanLength: maxSpanLength)
    }
}

extension ObjectiveSection {
    /// masked_lm's `objective.masking` (defaults when the recipe has none).
    public var masking: MaskingSection {
        get { MaskedLMObjective.settings(in: self) }
        set { setSettings(newValue, of: MaskedLMObjective.self) }
    }
}
