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

    /// features: (B, T, F) → position logits (B, N, P).
    public func callAsFunction(_ features: Tensor, lengths: [Int]) -> Tensor {
        head(encoder(features, lengths: lengths).lastHiddenState)
    }
}

/// Position prediction (Zhai et al. 2022): with no position embedding in the input, the encoder must tell where
/// each frame is from the content and the other frames alone; cross-entropy of the head's logits against each
/// stacked position's index, over the positions that hold audio. (The paper also removes a share of the tokens from
/// the keys; not done here.)
public final class PositionPrediction: FeaturePretrainingObjective {
    public let predictionModel: PositionPredictionModel
    public var model: Module { predictionModel }
    public var encoder: AudioEncoder { predictionModel.encoder }

    public init(model: PositionPredictionModel) {
        precondition(model.encoder.config.positions == .none,
                     "position prediction needs an encoder without positions (positions: none): they would give the answer away")
        predictionModel = model
    }

    public func loss(_ batch: FeatureBatch, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int) {
        let logits = predictionModel(batch.features, lengths: batch.lengths)                     // (B, N, P)
        let (rows, positions, classes) = (logits.size(0), logits.size(1), logits.size(2))
        let valid = predictionModel.encoder.stackedLengths(batch.lengths)
        let targets = (0..<rows).flatMap { row in (0..<positions).map { $0 < valid[row] ? Int32($0) : -100 } }
        let counted = valid.reduce(0) { $0 + min($1, positions) }
        let loss = crossEntropy(logits.reshaped([rows * positions, classes]),
                                targets: IntTensor(targets, shape: [rows * positions]), ignoreIndex: -100)
        return (loss, counted)
    }
}
