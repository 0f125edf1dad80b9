import Foundation
import Objectives
import Tensors

/// Loss of a model on held-out windows.
public struct Evaluation: Equatable {
    /// Mean loss in nats per predicted token.
    public var loss: Double
    /// Tokens predicted (the weight of the mean).
    public var predicted: Int
    /// Bits per UTF-8 byte of text: loss · tokens / (bytes · ln 2); nil when the byte count is unknown or the
    /// objective does not predict every token (masked LM).
    public var bitsPerByte: Double?

    public var perplexity: Double { exp(loss) }
}

/// Evaluates `objective` on `batches` in evaluation mode (no dropout) without recording gradients. The mean is
/// weighted by predicted tokens, so a short last batch counts for what it holds. Masking objectives draw from a
/// generator seeded with `seed`, so that every evaluation sees the same masks.
public func evaluate(_ objective: PretrainingObjective, batches: [IntTensor], bytesPerToken: Double?,
                     seed: UInt64 = 0x5eed) -> Evaluation {
    let model = objective.model
    let wasTraining = model.isTraining
    model.eval()
    defer { model.train(wasTraining) }
    var generator = RandomGenerator(seed: seed)
    var total = 0.0, predicted = 0
    noGrad {
        for batch in batches {
            let (loss, count) = objective.loss(batch, generator: &generator)
            total += Double(loss.item) * Double(count)
            predicted += count
        }
    }
    let mean = predicted > 0 ? total / Double(predicted) : .nan
    let bitsPerByte = bytesPerToken.map { mean / (log(2) * $0) }
    return Evaluation(loss: mean, predicted: predicted, bitsPerByte: objective is CausalLanguageModeling ? bitsPerByte : nil)
}
