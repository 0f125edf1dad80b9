import Tensors

/// How a sequence's hidden states (B, T, C) become the one vector (B, C) a classification head reads.
public enum SequencePooling: String, CaseIterable, Sendable {
    /// The first position's state ([CLS]), then BERT's pooler (dense + tanh): Hugging Face BertForSequenceClassification.
    case cls
    /// The mean over the positions that are not padding (no pooler).
    case mean
    /// The state of the last token that is not padding: Hugging Face GPT2ForSequenceClassification and
    /// LlamaForSequenceClassification.
    case last
    /// The state at the mask token: a masked LM's prompt-based classifier (`MaskedLMPromptClassifier`).
    case mask
}

/// A padded batch of token sequences. tokens, attentionMask: (B, T); the mask is 1 on real tokens, 0 on padding.
public struct PaddedTokens {
    public let tokens: IntTensor
    public let attentionMask: IntTensor

    public init(tokens: IntTensor, attentionMask: IntTensor) {
        precondition(tokens.shape.count == 2 && tokens.shape == attentionMask.shape,
                     "tokens \(tokens.shape) and attention mask \(attentionMask.shape) must both be (B, T)")
        self.tokens = tokens
        self.attentionMask = attentionMask
    }

    /// Right-pads `sequences` (each non-empty) with `padToken` to the longest of them.
    public init(_ sequences: [[Int32]], padToken: Int32) {
        precondition(!sequences.isEmpty && sequences.allSatisfy { !$0.isEmpty }, "a batch of non-empty sequences")
        let length = sequences.map(\.count).max()!
        var tokens = [Int32](), mask = [Int32]()
        tokens.reserveCapacity(sequences.count * length)
        for sequence in sequences {
            tokens += sequence + [Int32](repeating: padToken, count: length - sequence.count)
            mask += [Int32](repeating: 1, count: sequence.count) + [Int32](repeating: 0, count: length - sequence.count)
        }
        self.init(tokens: IntTensor(tokens, shape: [sequences.count, length]),
                  attentionMask: IntTensor(mask, shape: [sequences.count, length]))
    }

    public var batchSize: Int { tokens.shape[0] }
    public var length: Int { tokens.shape[1] }
}

/// A sequence classifier: a pre-trained backbone, a pooling of its final hidden states, a head of class logits.
/// `pooledStates` is the backbone's part and `head` the part that linear probing trains, so a probe can run the
/// backbone once under `noGrad` and train the head alone.
public protocol SequenceClassifier: Module {
    var labelCount: Int { get }
    var pooling: SequencePooling { get }
    /// The pre-trained part (frozen by linear probing).
    var backbone: Module { get }
    /// The parameters that are not the backbone's: they are new when fine-tuning starts.
    var headParameterNames: [String] { get }
    /// batch → the head's input (B, C).
    func pooledStates(_ batch: PaddedTokens) -> Tensor
    /// (B, C) → class logits (B, labelCount).
    func head(_ pooled: Tensor) -> Tensor
}

extension SequenceClassifier {
    /// batch → class logits (B, labelCount).
    public func logits(_ batch: PaddedTokens) -> Tensor { head(pooledStates(batch)) }
}

/// hidden: (B, T, C) → the rows `positions` (one per sequence) as (B, C).
func gatherPositions(_ hidden: Tensor, _ positions: [Int]) -> Tensor {
    let (b, t, c) = (hidden.size(0), hidden.size(1), hidden.size(2))
    precondition(positions.count == b && positions.allSatisfy { (0..<t).contains($0) }, "one position in 0..<\(t) per sequence")
    let rows = positions.enumerated().map { Int32($0.offset * t + $0.element) }
    return embedding(hidden.reshaped([b * t, c]), indices: IntTensor(rows, shape: [b]))
}

/// hidden: (B, T, C), mask: (B, T) of 1/0 → the mean of each sequence's unmasked states (B, C).
func maskedMean(_ hidden: Tensor, _ mask: IntTensor) -> Tensor {
    let (b, t) = (mask.shape[0], mask.shape[1])
    var weights = [Float](repeating: 0, count: b * t)
    for row in 0..<b {
        let count = (0..<t).reduce(0) { $0 + (mask.values[row * t + $1] != 0 ? 1 : 0) }
        for position in 0..<t where mask.values[row * t + position] != 0 { weights[row * t + position] = 1 / Float(count) }
    }
    return sum(hidden * Tensor(weights, shape: [b, t, 1]), axes: [1])
}

/// BERT with a sequence-classification head, as Hugging Face BertForSequenceClassification:
///     logits = classifier(dropout(tanh(pooler(h[CLS]))))
/// (`.cls`), or `classifier(dropout(mean of the unpadded h))` (`.mean`, which has no pooler and no transformers
/// class). Keys: `bert.…`, `bert.pooler.dense.{weight,bias}`, `classifier.{weight,bias}`.
public final class BertForSequenceClassification: Module, SequenceClassifier {
    @Key public var bert: BertModel
    /// BertPooler's dense layer (`.cls` only).
    @Key public var pooler: Linear?
    @Key public var classifier: Linear
    public let dropout: Dropout
    public let pooling: SequencePooling

    public var config: BertConfig { bert.config }
    public var labelCount: Int { classifier.outFeatures }
    public var backbone: Module { bert }
    public var headParameterNames: [String] {
        (pooler == nil ? [] : ["bert.pooler.dense.weight", "bert.pooler.dense.bias"]) + ["classifier.weight", "classifier.bias"]
    }

    /// Wraps a (pre-trained) encoder with a new head, initialised as transformers does (weights N(0, 0.02²), biases
    /// 0). The dropout before the classifier is the encoder's (classifier_dropout unset in transformers).
    public init(bert: BertModel, labels: Int, pooling: SequencePooling = .cls, generator: inout RandomGenerator) {
        precondition(pooling != .last, "BERT pools [CLS] or the mean of its states")
        precondition(labels >= 2, "a classifier of ≥ 2 labels")
        let c = bert.config.hiddenSize
        self.pooling = pooling
        _bert = Key(wrappedValue: bert, "bert")
        _pooler = Key(wrappedValue: pooling == .cls ? Linear(c, c, generator: &generator) : nil, "bert.pooler.dense")
        _classifier = Key(wrappedValue: Linear(c, labels, generator: &generator), "classifier")
        dropout = Dropout(bert.config.dropout)
        super.init()
        for layer in [pooler, classifier].compactMap({ $0 }) {
            Initializer.normal(layer.weight, std: 0.02, generator: &generator)
            Initializer.zeros(layer.bias!)
        }
    }

    public func pooledStates(_ batch: PaddedTokens) -> Tensor {
        let hidden = bert(tokens: batch.tokens, attentionMask: batch.attentionMask)           // (B, T, C)
        switch pooling {
        case .cls: return gatherPositions(hidden, [Int](repeating: 0, count: batch.batchSize))
        default: return maskedMean(hidden, batch.attentionMask)
        }
    }

    public func head(_ pooled: Tensor) -> Tensor {
        let features = pooler.map { tanh($0(pooled)) } ?? pooled
        return classifier(dropout(features))
    }
}

/// A GPT-2 or Llama decoder with a classification head on its last real token, as Hugging Face
/// GPT2ForSequenceClassification / LlamaForSequenceClassification: `score` (no bias) over the final norm's output
/// at the last position whose token is not `padToken` (position 0 when every token is padding), so right padding
/// changes nothing. `.mean` pools the unpadded positions instead (no transformers class). The decoder's output
/// projection is not part of the classifier (transformers' classes have no lm_head): an untied one is dropped.
/// Keys: the decoder's (`transformer.…` / `model.…`) and `score.weight`.
public final class GPTForSequenceClassification: Module, SequenceClassifier {
    @Key public var decoder: GPTModel
    @Key public var score: Linear
    public let pooling: SequencePooling
    /// The id that marks padding (transformers' pad_token_id).
    public let padToken: Int

    public var config: GPTConfig { decoder.config }
    public var labelCount: Int { score.outFeatures }
    public var backbone: Module { decoder }
    public var headParameterNames: [String] { ["score.weight"] }

    /// Wraps a (pre-trained) decoder with a new `score`, initialised N(0, 0.02²) as transformers does.
    public init(decoder: GPTModel, labels: Int, padToken: Int, pooling: SequencePooling = .last,
                generator: inout RandomGenerator) {
        precondition(pooling != .cls, "a decoder pools its last token or the mean of its states")
        precondition(labels >= 2, "a classifier of ≥ 2 labels")
        self.pooling = pooling
        self.padToken = padToken
        decoder.lmHead = nil
        _decoder = Key(wrappedValue: decoder, "")
        _score = Key(wrappedValue: Linear(decoder.config.dModel, labels, bias: false, generator: &generator), "score")
        super.init()
        Initializer.normal(score.weight, std: 0.02, generator: &generator)
    }

    /// Per sequence, the last position whose token is not `padToken` (transformers' rule, so a sequence that ends in
    /// the pad id, e.g. GPT-2's end-of-text used as padding, is read before it); 0 when all are.
    public func lastTokenPositions(_ tokens: IntTensor) -> [Int] {
        let (b, t) = (tokens.shape[0], tokens.shape[1])
        return (0..<b).map { row in
            (0..<t).last { tokens.values[row * t + $0] != Int32(padToken) } ?? 0
        }
    }

    public func pooledStates(_ batch: PaddedTokens) -> Tensor {
        let hidden = decoder.hiddenStates(tokens: batch.tokens)                              // (B, T, C)
        switch pooling {
        case .mean: return maskedMean(hidden, batch.attentionMask)
        default: return gatherPositions(hidden, lastTokenPositions(batch.tokens))
        }
    }

    public func head(_ pooled: Tensor) -> Tensor { score(pooled) }
}
