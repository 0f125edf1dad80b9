import Layers
import Objectives
import Tensors

/// The pre-training loss on fixed batches as a function of the trainable parameters θ, with its gradient:
///
///   L(θ) = Σ_b n_b · ℓ_b(θ) / Σ_b n_b,
///
/// ℓ_b the objective's mean loss on batch b and n_b the positions it predicts (the weighting of `evaluate`, so a
/// short last batch counts for what it holds). Every evaluation runs in evaluation mode (no dropout) and draws masks
/// from a generator seeded with `maskSeed`, row by row in batch order, so a masking objective hides the same tokens
/// at every θ: L is one deterministic function, which finite differences of its gradient need.
///
/// θ is the flat concatenation of `parameters` (the model's trainable tensors, in declaration order; a tied
/// embedding appears once).
public final class FixedBatchLoss {
    public let objective: PretrainingObjective
    public let batches: [IntTensor]
    public let maskSeed: UInt64
    public let parameters: [Tensor]
    /// Scalars in θ.
    public let dimension: Int
    /// Positions each batch predicts (fixed, because the masks are).
    public let predicted: [Int]
    /// L at the parameters `init` found.
    public let initialValue: Double

    public init(objective: PretrainingObjective, batches: [IntTensor], maskSeed: UInt64 = 0x5eed) {
        precondition(!batches.isEmpty, "FixedBatchLoss needs at least one batch")
        self.objective = objective
        self.batches = batches
        self.maskSeed = maskSeed
        parameters = objective.model.trainableParameters
        dimension = parameters.reduce(0) { $0 + $1.count }
        var counts: [Int] = [], total = 0.0
        Self.inEvaluationMode(objective.model) {
            var generator = RandomGenerator(seed: maskSeed)
            noGrad {
                for batch in batches {
                    let (loss, count) = objective.loss(batch, generator: &generator)
                    counts.append(count)
                    total += Double(loss.item) * Double(count)
                }
            }
        }
        predicted = counts
        let positions = counts.reduce(0, +)
        precondition(positions > 0, "the fixed batches predict no position")
        initialValue = total / Double(positions)
    }

    /// Total positions predicted: the weight of the mean.
    public var predictedPositions: Int { predicted.reduce(0, +) }

    /// Adds `scale` · ∇L(θ) at the current parameters to `accumulator` (`dimension` entries, θ's order) and returns
    /// L(θ). Each batch's gradient is added in Double as soon as its backward has run, so the sum over batches loses
    /// nothing to float32 rounding. Gradients the parameters held before the call are put back afterwards.
    @discardableResult
    public func addGradient(scaledBy scale: Double, to accumulator: UnsafeMutableBufferPointer<Double>) -> Double {
        precondition(accumulator.count == dimension, "accumulator of \(accumulator.count) for \(dimension) parameters")
        precondition(Autograd.isRecording, "FixedBatchLoss.addGradient inside noGrad: the tape records nothing")
        let held = parameters.map { $0.grad }
        defer { for (parameter, grad) in zip(parameters, held) { parameter.grad = grad } }
        for parameter in parameters { parameter.grad = nil }
        let positions = Double(predictedPositions)
        var total = 0.0
        Self.inEvaluationMode(objective.model) {
            var generator = RandomGenerator(seed: maskSeed)
            for (batch, expected) in zip(batches, predicted) {
                let (loss, count) = objective.loss(batch, generator: &generator)
                precondition(count == expected, "batch predicts \(count) positions, \(expected) before: masks changed")
                total += Double(loss.item) * Double(count)
                loss.backward()
                let weight = scale * Double(count) / positions
                var offset = 0
                for parameter in parameters {
                    if let grad = parameter.grad {
                        let source = grad.data
                        for i in 0..<parameter.count { accumulator[offset + i] += weight * Double(source[i]) }
                        parameter.grad = nil
                    }
                    offset += parameter.count
                }
            }
        }
        return total / positions
    }

    /// Runs `body` with `model` in evaluation mode, restoring its mode afterwards.
    static func inEvaluationMode(_ model: Module, _ body: () -> Void) {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        body()
    }
}
