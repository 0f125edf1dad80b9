import Layers
import Tensors

/// What every objective has: the model it trains (the backbone with the objective's heads). The trainer asks a
/// data form's task for losses; which batches an objective reads is said by the protocols below.
public protocol TrainableObjective: AnyObject {
    var model: Module { get }
}

/// What a model learns from a batch of token windows: which positions it predicts, from what, and the loss.
///
/// The trainer knows nothing else about an objective: the token-window task cuts (B, T+1) windows from the corpus,
/// asks for the loss, and the trainer backpropagates it and steps the optimiser. The algorithm is one file here;
/// its recipe kind, settings and factory are one file in Training/Registered.
public protocol PretrainingObjective: TrainableObjective {
    /// tokens: (B, T+1) windows cut from the corpus. Returns the mean loss over predicted positions and how many.
    /// `generator` supplies any randomness the objective needs (masking); the trainer saves its state in
    /// checkpoints so that a resumed run draws the same masks.
    func loss(_ tokens: IntTensor, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int)
    /// Whether the loss is next-token cross-entropy over every position (so that bits per byte apply).
    var predictsNextToken: Bool { get }
}

extension PretrainingObjective {
    public var predictsNextToken: Bool { false }
}

extension IntTensor {
    /// Columns `range` of a (B, L) tensor → (B, range.count).
    public func columns(_ range: Range<Int>) -> IntTensor {
        precondition(shape.count == 2, "columns(_:) needs a (B, L) tensor, got \(shape)")
        let (rows, width) = (shape[0], shape[1])
        precondition(range.lowerBound >= 0 && range.upperBound <= width, "columns \(range) outside 0..<\(width)")
        var result: [Int32] = []
        result.reserveCapacity(rows * range.count)
        for row in 0..<rows { result += values[(row * width + range.lowerBound)..<(row * width + range.upperBound)] }
        return IntTensor(result, shape: [rows, range.count])
    }
}
