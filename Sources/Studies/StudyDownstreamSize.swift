import Foundation

/// The shape and budget of the downstream study.
public struct StudyDownstreamSize: Equatable, Sendable {
    public var name: String
    public var vocabulary: Int
    public var context: Int
    public var batchSize: Int
    public var layers: Int
    public var width: Int
    public var heads: Int
    public var lr: Float = 2e-3
    public var minLR: Float = 2e-4
    public var warmup: Int
    /// Pre-training steps of the GPT and the BERT; continued pre-training on the tasks' texts (domain, TAPT, PCP).
    public var pretrainSteps: Int
    public var continuedSteps: Int
    public var evalEvery: Int
    public var evalBatches: Int
    /// Fine-tuning: updates, batch, peak learning rate (fixed beforehand, not tuned on any split).
    public var fineTuneSteps: Int
    public var fineTuneBatch: Int
    public var fineTuneLR: Float
    /// Updates between dev evaluations (the best of which is kept).
    public var fineTuneEvaluateEvery: Int
    /// Seeds of every fine-tuning and few-shot sample; the K of the suite table and of the PCP and self-training parts.
    public var seeds: Int
    public var suiteShots: Int
    public var fewShots: [Int]
    /// Flatness: Rademacher draws, evaluation batches of `flatnessBatchSize` windows.
    public var flatnessSamples: Int
    public var flatnessBatches: Int
    public var flatnessBatchSize: Int
    /// Self-training's confidence threshold.
    public var pseudoLabelThreshold: Double
    /// Test examples of each task the zero-shot scores read (the first ones of the test split).
    public var zeroShotLimit: Int

    /// About an hour on two quiet cores.
    public static let standard = StudyDownstreamSize(
        name: "default", vocabulary: 4096, context: 128, batchSize: 16, layers: 4, width: 128, heads: 4, warmup: 30,
        pretrainSteps: 800, continuedSteps: 200, evalEvery: 100, evalBatches: 8, fineTuneSteps: 150, fineTuneBatch: 16,
        fineTuneLR: 1e-3, fineTuneEvaluateEvery: 30, seeds: 3, suiteShots: 64, fewShots: [16, 64], flatnessSamples: 16, flatnessBatches: 2,
        flatnessBatchSize: 8, pseudoLabelThreshold: 0.9, zeroShotLimit: 200)

    /// The CI size: every part on a tiny model for a few steps (the numbers test the pipeline, not the papers).
    public static let quick = StudyDownstreamSize(
        name: "quick", vocabulary: 300, context: 32, batchSize: 4, layers: 1, width: 16, heads: 2, warmup: 2,
        pretrainSteps: 8, continuedSteps: 4, evalEvery: 4, evalBatches: 2, fineTuneSteps: 4, fineTuneBatch: 4,
        fineTuneLR: 1e-3, fineTuneEvaluateEvery: 2, seeds: 2, suiteShots: 4, fewShots: [4], flatnessSamples: 2, flatnessBatches: 1,
        flatnessBatchSize: 2, pseudoLabelThreshold: 0.5, zeroShotLimit: 12)
}
