import Tensors

// Prompt-based fine-tuning (Gao, Fisch and Chen 2021, "Making Pre-trained Language Models Better Few-shot Learners",
// LM-BFF, §4): a task is put to the model as the text inside a prompt, and the class logits are the pre-trained LM
// head's logits, at the position the prompt asks about, of each label's verbaliser token. Nothing is new: before its
// first update the classifier is the pre-trained model's zero-shot prompt prediction, and fine-tuning trains the
// whole model, its LM head included, with cross-entropy over those logits (LM-BFF eq. 1–2).

/// BERT's masked-LM head read at the mask token:
///     logits[b, k] = MLMHead(h[b, m_b])[labelTokens[k]],   m_b the position of `maskToken` in sequence b
/// The head (transform, its LayerNorm, the decoder tied to the word embeddings, the output bias) is the checkpoint's
/// and trains with the encoder. Each sequence holds `maskToken` exactly once (the input builder's promise: it removes
/// the mask id from the text's own tokens). Keys: the checkpoint's, `bert.…` and `cls.predictions.…`.
public final class MaskedLMPromptClassifier: Module, SequenceClassifier {
    @Key public var model: BertForMaskedLM
    public let maskToken: Int32
    /// Per label, in class-index order, the vocabulary id whose logit is the label's.
    public let labelTokens: [Int32]

    public var labelCount: Int { labelTokens.count }
    public var pooling: SequencePooling { .mask }
    public var backbone: Module { model }
    /// None: the classifier adds no parameter to the checkpoint.
    public var headParameterNames: [String] { [] }

    public init(model: BertForMaskedLM, maskToken: Int32, labelTokens: [Int32]) {
        precondition(labelTokens.count >= 2 && Set(labelTokens).count == labelTokens.count, "≥ 2 distinct label tokens")
        precondition((labelTokens + [maskToken]).allSatisfy { (0..<Int32(model.config.vocabSize)).contains($0) },
                     "label and mask tokens inside the vocabulary of \(model.config.vocabSize)")
        _model = Key(wrappedValue: model, "")
        self.maskToken = maskToken
        self.labelTokens = labelTokens
        super.init()
    }

    /// Per sequence, the position of its mask token.
    public func maskPositions(_ tokens: IntTensor) -> [Int] {
        let (b, t) = (tokens.shape[0], tokens.shape[1])
        return (0..<b).map { row in
            guard let position = (0..<t).first(where: { tokens.values[row * t + $0] == maskToken }) else {
                preconditionFailure("sequence \(row) of the batch holds no mask token \(maskToken)")
            }
            return position
        }
    }

    /// batch → the encoder's state at each sequence's mask (B, C).
    public func pooledStates(_ batch: PaddedTokens) -> Tensor {
        let hidden = model.bert(tokens: batch.tokens, attentionMask: batch.attentionMask)     // (B, T, C)
        return gatherPositions(hidden, maskPositions(batch.tokens))
    }

    /// (B, C) → the MLM head's logits of the label tokens (B, labels).
    public func head(_ pooled: Tensor) -> Tensor {
        model.predictions(pooled, restrictedTo: IntTensor(labelTokens, shape: [labelTokens.count]))
    }
}

/// A GPT-2 or Llama decoder's next-token logits after the prompt:
///     logits[b, k] = (finalNorm(h[b, last_b]) · Wᵀ)[labelTokens[k]],   last_b the last position the attention mask keeps
/// where W is the output projection (the tied token embedding, or Llama's lm_head, which is kept and trained). The
/// attention mask, not a pad id, marks the last real token: decoders pad with <|endoftext|>, which may also be real.
/// Keys: the checkpoint's.
public final class CausalLMPromptClassifier: Module, SequenceClassifier {
    @Key public var decoder: GPTModel
    /// Per label, in class-index order, the vocabulary id whose logit is the label's.
    public let labelTokens: [Int32]

    public var labelCount: Int { labelTokens.count }
    public var pooling: SequencePooling { .last }
    public var backbone: Module { decoder }
    /// None: the classifier adds no parameter to the checkpoint.
    public var headParameterNames: [String] { [] }

    public init(decoder: GPTModel, labelTokens: [Int32]) {
        precondition(labelTokens.count >= 2 && Set(labelTokens).count == labelTokens.count, "≥ 2 distinct label tokens")
        precondition(labelTokens.allSatisfy { (0..<Int32(decoder.config.vocabSize)).contains($0) },
                     "label tokens inside the vocabulary of \(decoder.config.vocabSize)")
        _decoder = Key(wrappedValue: decoder, "")
        self.labelTokens = labelTokens
        super.init()
    }

    /// Per sequence, its last position that the attention mask keeps (0 when none is).
    public func lastPositions(_ attentionMask: IntTensor) -> [Int] {
        let (b, t) = (attentionMask.shape[0], attentionMask.shape[1])
        return (0..<b).map { row in (0..<t).last { attentionMask.values[row * t + $0] != 0 } ?? 0 }
    }

    /// batch → the final norm's state at each sequence's last real token (B, C).
    public func pooledStates(_ batch: PaddedTokens) -> Tensor {
        gatherPositions(decoder.hiddenStates(tokens: batch.tokens), lastPositions(batch.attentionMask))
    }

    /// (B, C) → the next-token logits of the label tokens (B, labels); the output projection's rows are gathered, so
    /// their gradients reach it.
    public func head(_ pooled: Tensor) -> Tensor {
        linear(pooled, weight: embedding(decoder.outputWeight, indices: IntTensor(labelTokens, shape: [labelTokens.count])))
    }
}
