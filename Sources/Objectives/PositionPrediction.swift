import Layers
import Tensors

/// A frame encoder without position information and a linear head over its last layer that names each stacked
/// position's index. Keys: encoder.…, head.
public final class PositionPredictionModel: Module {
    @Key public var encoder: AudioFrameEncoder
    @Key public var head: Linear

    /// The head has one class per position the encoder holds (⌈maxFrames / k⌉).
    public init(encoder: AudioFrameEncoder, generator: inout RandomGenerator) {
        let positions = (encoder.config.maxFrames + encoder.config.frameStack - 1) / encoder.config.frameStack
        _encoder = Key(wrappedValue: encoder, "encoder")
        _head = Key(wrappedValue: Linear(encoder.config.hiddenSize, positions, generator: &generator), "head")
        super.init()
    }

    /// features: (B, T, F) → position logits (B, N, P); `removedKeys` (B·N flags) leaves positions out of the keys.
    public func callAsFunction(_ features: Tensor, lengths: [Int], removedKeys: [Bool]? = nil) -> Tensor {
        head(encoder.encode(features, lengths: lengths, masked: nil, removedKeys: removedKeys).lastHiddenState)
    }
}

/// Position prediction (Zhai et al. 2022): with no position embedding in the input, the encoder must tell where
/// each frame is from the content and the other frames alone; cross-entropy of the head's logits against each
/// stacked position's index, over the positions that hold audio. With `keyMaskRatio` > 0 each row's keys lose that
/// share of its positions, drawn at random (at least one key kept), as the paper masks tokens out of the keys:
/// every position, removed or not, is still a query that names its index, from less context.
public final class PositionPrediction: FeaturePretrainingObjective {
    public let predictionModel: PositionPredictionModel
    public var model: Module { predictionModel }
    public var encoder: AudioEncoder { predictionModel.encoder }
    public let keyMaskRatio: Float

    public init(model: PositionPredictionModel, keyMaskRatio: Float = 0) {
        precondition(model.encoder.config.positions == .none,
                     "position prediction needs an encoder without positions (positions: none): they would give the answer away")
        precondition(keyMaskRatio >= 0 && keyMaskRatio < 1, "the key mask ratio must be in [0, 1), got \(keyMaskRatio)")
        predictionModel = model
        self.keyMaskRatio = keyMaskRatio
    }

    /// B·N flags: ⌊ratio · valid⌋ of each row's valid positions (fewer, so that one stays), drawn without replacement.
    public func removedKeys(valid: [Int], positions: Int, generator: inout RandomGenerator) -> [Bool] {
        var flags = [Bool](repeating: false, count: valid.count * positions)
        for (row, count) in valid.enumerated() {
            var order = Array(0..<min(count, positions))
            let removed = min(Int(keyMaskRatio * Float(order.count)), order.count - 1)
            for i in 0..<removed {
                order.swapAt(i, i + generator.nextInt(below: order.count - i))
                flags[row * positions + order[i]] = true
            }
        }
        return flags
    }

    public func loss(_ batch: FeatureBatch, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int) {
        let valid = predictionModel.encoder.stackedLengths(batch.lengths)
        let width = (batch.features.size(1) + predictionModel.encoder.config.frameStack - 1) / predictionModel.encoder.config.frameStack
        let removed = keyMaskRatio > 0 ? removedKeys(valid: valid, positions: width, generator: &generator) : nil
        let logits = predictionModel(batch.features, lengths: batch.lengths, removedKeys: removed)    // (B, N, P)
        let (rows, positions, classes) = (logits.size(0), logits.size(1), logits.size(2))
        let targets = (0..<rows).flatMap { row in (0..<positions).map { $0 < valid[row] ? Int32($0) : -100 } }
        let counted = valid.reduce(0) { $0 + min($1, positions) }
        let loss = crossEntropy(logits.reshaped([rows * positions, classes]),
                                targets: IntTensor(targets, shape: [rows * positions]), ignoreIndex: -100)
        return (loss, counted)
    }
}

/// The text form: a BERT encoder whose position table is zero and frozen (the input is the tokens alone, as the
/// paper's encoder without position embeddings; the table stays so that checkpoints keep Hugging Face's keys) and a
/// linear head over its last layer that names each token's index. Keys: bert.…, head (C → max positions).
public final class TextPositionPredictionModel: Module {
    @Key public var bert: BertModel
    @Key public var head: Linear

    public init(bert: BertModel, generator: inout RandomGenerator) {
        Initializer.zeros(bert.embeddings.position.weight)
        bert.embeddings.position.weight.requiresGrad = false
        _bert = Key(wrappedValue: bert, "bert")
        _head = Key(wrappedValue: Linear(bert.config.hiddenSize, bert.config.maxPositions, generator: &generator), "head")
        super.init()
    }

    /// tokens: (B, T) → position logits (B, T, max positions).
    public func callAsFunction(_ tokens: IntTensor) -> Tensor { head(bert(tokens: tokens)) }
}

/// Position prediction over token windows: the window's first T tokens (the last is only a next-token target for
/// causal objectives) go in without positions, and the cross-entropy of the head's logits against each token's index
/// 0 … T − 1 is averaged over every token.
public final class TextPositionPrediction: PretrainingObjective {
    public let predictionModel: TextPositionPredictionModel
    public var model: Module { predictionModel }

    public init(model: TextPositionPredictionModel) {
        precondition(!model.bert.embeddings.position.weight.requiresGrad, "the position table must be frozen (at zero)")
        predictionModel = model
    }

    public func loss(_ tokens: IntTensor, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int) {
        precondition(tokens.shape.count == 2 && tokens.shape[1] >= 2, "position prediction reads (B, T+1) windows, got \(tokens.shape)")
        let (rows, length) = (tokens.shape[0], tokens.shape[1] - 1)
        let logits = predictionModel(tokens.columns(0..<length))                                       // (B, T, P)
        let targets = IntTensor((0..<rows * length).map { Int32($0 % length) }, shape: [rows * length])
        return (crossEntropy(logits.reshaped([rows * length, logits.size(2)]), targets: targets), rows * length)
    }
}
