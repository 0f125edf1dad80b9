import Foundation
import Layers
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

    public init(loss: Double, predicted: Int, bitsPerByte: Double?) {
        (self.loss, self.predicted, self.bitsPerByte) = (loss, predicted, bitsPerByte)
    }

    public var perplexity: Double { exp(loss) }
}

/// Evaluates `objective` on `batches` in evaluation mode (no dropout) without recording gradients. The mean is
/// weighted by predicted tokens, so a short last batch counts for what it holds. Masking objectives draw from a
/// generator seeded with `seed`, so that every evaluation sees the same masks.
public func evaluate(_ objective: PretrainingObjective, batches: [IntTensor], bytesPerToken: Double?,
                     seed: UInt64 = 0x5eed, shard: DataShard = .whole) -> Evaluation {
    let (mean, predicted) = weightedMeanLoss(objective.model, batches, seed: seed, shard: shard) { objective.loss($0, generator: &$1) }
    let bitsPerByte = bytesPerToken.map { mean / (log(2) * $0) }
    return Evaluation(loss: mean, predicted: predicted, bitsPerByte: objective.predictsNextToken ? bitsPerByte : nil)
}

/// The mean of `loss` over `batches`, weighted by what each batch predicts, with `model` in evaluation mode (restored
/// afterwards) and no gradients recorded; masks come from a generator seeded with `seed`. Split over `shard`'s ranks,
/// each evaluates every N-th batch and the sums are added up (a masking objective then draws other masks than one
/// process would; a causal LM's loss is the same).
func weightedMeanLoss<Batch>(_ model: Module, _ batches: [Batch], seed: UInt64, shard: DataShard = .whole,
                             _ loss: (Batch, inout RandomGenerator) -> (loss: Tensor, predicted: Int)) -> (mean: Double, predicted: Int) {
    let wasTraining = model.isTraining
    model.eval()
    defer { model.train(wasTraining) }
    var generator = RandomGenerator(seed: seed)
    var total = 0.0, predicted = 0
    noGrad {
        for batch in shard.share(of: batches) {
            let (value, count) = loss(batch, &generator)
            total += Double(value.item) * Double(count)
            predicted += count
        }
    }
    if shard.count > 1 {
        let sums = shard.sum([total, Double(predicted)])
        (total, predicted) = (sums[0], Int(sums[1]))
    }
    return (predicted > 0 ? total / Double(predicted) : .nan, predicted)
}
