import Layers
import Tensors

/// A micro-batch of normalised feature crops: features (B, T, F), zero after each row's `lengths[b]` frames.
public struct FeatureBatch {
    public var features: Tensor
    public var lengths: [Int]

    public init(features: Tensor, lengths: [Int]) {
        precondition(features.rank == 3 && lengths.count == features.size(0),
                     "a feature batch is (B, T, F) with B lengths, got \(features.shape) and \(lengths.count)")
        self.features = features
        self.lengths = lengths
    }

    /// Frames that hold audio (what the trainer counts as seen).
    public var frameCount: Int { lengths.reduce(0, +) }
}

/// What a model learns from a batch of feature crops (TERA, SSAST, …): the feature-side twin of
/// `PretrainingObjective`. The trainer draws crops, asks for the loss, backpropagates it and steps the optimiser.
public protocol FeaturePretrainingObjective: TrainableObjective {
    /// The encoder inside `model`, for probes and for checking the feature dimension.
    var encoder: AudioEncoder { get }
    /// Returns the mean loss and the number of predictions it averages (the weight of an evaluation's mean).
    /// `generator` supplies every masking draw; the trainer saves its state in checkpoints.
    func loss(_ batch: FeatureBatch, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int)
    /// Whether its batches carry per-frame targets after the encoder's feature bins (`data.targets`); false by default.
    var readsTargets: Bool { get }
}

extension FeaturePretrainingObjective {
    public var readsTargets: Bool { false }
}

/// A feature objective that reports more than its loss at each evaluation (codebook usage, …): name → value,
/// written to metrics.jsonl as `objective/<name>`.
public protocol EvaluationMetricsReporting {
    func evaluationMetrics(_ batches: [FeatureBatch]) -> [String: Double]
}
