import Foundation
import Optimizers
import Tensors

/// Everything besides weights and optimiser moments that a resumed run needs to continue exactly as if it had
/// never stopped: the step, the data position, every random stream, and the running sums of the current
/// logging interval. Stored as trainer_state.json in each checkpoint.
public struct TrainerState: Codable, Equatable {
    /// Updates taken (including skipped ones): the next update is number `step` (0-based).
    public var step = 0
    /// Updates the optimiser actually applied (AdamW's bias-correction counter).
    public var optimizerSteps = 0
    public var tokensSeen = 0
    public var skippedUpdates = 0
    public var consecutiveSkips = 0
    public var schedule: LearningRateSchedule
    /// The data position: `batcher` for a single corpus, `mixture` for a mixture of sources.
    public var batcher: BatcherState?
    public var mixture: MixtureState?
    /// Windows balanced by a document field (`data.balance_by`).
    public var balanced: BalancedState?
    /// The position in a feature corpus (audio runs).
    public var featureBatcher: FeatureBatcherState?
    /// Stream for the objective (masking).
    public var objectiveRandom: RandomState
    /// `Random.generator`, which dropout draws from.
    public var dropoutRandom: RandomState
    /// Loss sum and micro-batch count since the last metrics row.
    public var intervalLossSum = 0.0
    public var intervalMicroBatches = 0
    /// Training seconds before this process (for ETA and throughput across a resume).
    public var elapsedSeconds = 0.0
    /// The checkpoint the weights were initialised from (`--init-from`), if any.
    public var initializedFrom: String?
    /// The checkpoint a branch (`pretrain anneal`) continues, if the run is one.
    public var branchedFrom: String?
    /// The machine that wrote this state (`Machine.summary`): reports say where the numbers were measured.
    public var machine: String?
    /// Every rank's own streams in a data-parallel run (index = rank); nil for one process.
    public var rankStreams: [RankStreams]?

    public init(schedule: LearningRateSchedule, batcher: BatcherState?, mixture: MixtureState? = nil,
                objectiveRandom: RandomState, dropoutRandom: RandomState) {
        self.schedule = schedule
        self.batcher = batcher
        self.mixture = mixture
        self.objectiveRandom = objectiveRandom
        self.dropoutRandom = dropoutRandom
    }

    enum CodingKeys: String, CodingKey {
        case step, optimizerSteps = "optimizer_steps", tokensSeen = "tokens_seen", skippedUpdates = "skipped_updates"
        case consecutiveSkips = "consecutive_skips", schedule, batcher, mixture, balanced, featureBatcher = "feature_batcher"
        case objectiveRandom = "objective_random"
        case dropoutRandom = "dropout_random", intervalLossSum = "interval_loss_sum"
        case intervalMicroBatches = "interval_micro_batches", elapsedSeconds = "elapsed_seconds"
        case initializedFrom = "initialized_from", branchedFrom = "branched_from", machine
        case rankStreams = "rank_streams"
    }

    public static func read(_ url: URL) throws -> TrainerState {
        do {
            return try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: url))
        } catch {
            throw CheckpointError("\(url.path): cannot read the trainer state: \(error)")
        }
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url)
    }
}

/// A RandomGenerator's four state words, as hex strings (JSON numbers cannot hold 64-bit integers exactly
/// in every reader).
public struct RandomState: Codable, Equatable {
    public var words: [String]

    public init(_ generator: RandomGenerator) {
        words = generator.stateWords.map { String($0, radix: 16) }
    }

    public func generator() throws -> RandomGenerator {
        let values = words.compactMap { UInt64($0, radix: 16) }
        guard values.count == 4, words.count == 4 else {
            throw CheckpointError("random state must be four 64-bit hex words, got \(words)")
        }
        var generator = RandomGenerator(seed: 0)
        generator.stateWords = values
        return generator
    }
}
