import Foundation
import Layers
import Objectives
import TextData

/// The objective a recipe names, wrapped around its model.
public enum TrainingObjectives {
    /// Tokens that masked LM never selects nor draws as random replacements.
    static let specialTokens = ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]", "<|endoftext|>", "<s>", "</s>", "<pad>", "<unk>"]

    public static func make(recipe: Recipe, model: Module, corpus: TrainingCorpus) throws -> PretrainingObjective {
        switch recipe.objective.kind {
        case .causalLM:
            guard let decoder = model as? GPTModel else {
                throw TrainingError("objective causal_lm needs a decoder (model.flavor gpt2 or llama)")
            }
            return CausalLanguageModeling(model: decoder)
        case .maskedLM:
            guard let encoder = model as? BertForMaskedLM else {
                throw TrainingError("objective masked_lm needs an encoder (model.flavor bert)")
            }
            guard let tokenizerURL = corpus.tokenizerURL else {
                throw TrainingError("objective masked_lm needs the corpus' tokenizer.json (for the [MASK] token)")
            }
            let tokenizer = try loadTokenizer(tokenizerURL)
            guard let mask = tokenizer.specialTokenID("[MASK]") else {
                throw TrainingError("\(tokenizerURL.path): the tokenizer has no [MASK] token, which masked_lm needs")
            }
            let masking = recipe.objective.masking
            let config = MaskingConfig(rate: masking.rate, maskFraction: masking.maskFraction,
                                       randomFraction: masking.randomFraction, wholeWord: masking.wholeWord,
                                       spanLength: masking.spanLength, maxSpanLength: masking.maxSpanLength)
            if let problem = config.problem { throw TrainingError("objective.masking: \(problem)") }
            let special = Set(specialTokens.compactMap(tokenizer.specialTokenID))
            return MaskedLanguageModeling(model: encoder, config: config, maskTokenID: mask, specialTokenIDs: special,
                                          vocabularySize: encoder.config.vocabSize,
                                          wordStarts: masking.wholeWord ? wordStarts(tokenizer, vocabularySize: encoder.config.vocabSize) : nil)
        case .tera, .ssast, .bestrq, .hubert, .beatsTokenizer, .beats, .wav2vec2:
            throw TrainingError("objective \(recipe.objective.kind.rawValue) trains on features: AudioPretraining.makeObjective")
        }
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
