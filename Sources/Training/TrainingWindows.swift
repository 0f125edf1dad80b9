import Foundation
import Objectives
import Tensors

/// Where a run's training windows come from: one corpus, a weighted mixture of sources, or crops of a feature
/// corpus (audio).
public enum TrainingWindows {
    case single(TokenBatcher)
    case mixture(MixtureBatcher)
    case features(FeatureBatcher)

    /// The next micro-batch of tokens for update `step` (the step picks a mixture's phase): (B, T+1).
    public func next(step: Int) -> IntTensor {
        switch self {
        case .single(let batcher): return batcher.next()
        case .mixture(let mixture): return mixture.next(step: step)
        case .features: preconditionFailure("a feature corpus gives feature batches (nextFeatures), not tokens")
        }
    }

    /// The next micro-batch of feature crops.
    public func nextFeatures() -> FeatureBatch {
        guard case .features(let batcher) = self else { preconditionFailure("a token corpus gives token windows (next)") }
        return batcher.next()
    }

    /// Training tokens drawn from each source so far; empty for a single corpus.
    public var tokensBySource: [String: Int] {
        if case .mixture(let mixture) = self { return mixture.tokensBySource }
        return [:]
    }

    /// Steps at which a mixture's weights change (curriculum phases).
    public var phaseBoundaries: [Int] {
        if case .mixture(let mixture) = self { return mixture.plan.boundaries }
        return []
    }
}

extension TrainingWindows {
    var singleState: BatcherState? {
        if case .single(let batcher) = self { return batcher.state }
        return nil
    }

    var mixtureState: MixtureState? {
        if case .mixture(let mixture) = self { return mixture.state }
        return nil
    }

    var featureState: FeatureBatcherState? {
        if case .features(let batcher) = self { return batcher.state }
        return nil
    }

    /// Continues from a checkpoint's data position, which must be of the same kind (one corpus, a mixture, features).
    func restore(batcher: BatcherState?, mixture: MixtureState?, features: FeatureBatcherState? = nil, checkpoint: URL) throws {
        switch self {
        case .features(let windows):
            guard let features else {
                throw TrainingError("\(checkpoint.path) was written by a run on tokens; this recipe trains on features")
            }
            try windows.restore(features)
        case .single(let windows):
            guard let batcher else {
                throw TrainingError("\(checkpoint.path) was written by a run with a data mixture, and the recipe has "
                    + "none; exact resume needs the same data (use --init-from to continue on other data)")
            }
            try windows.restore(batcher)
        case .mixture(let windows):
            guard let mixture else {
                throw TrainingError("\(checkpoint.path) was written by a single-corpus run, and the recipe has a data "
                    + "mixture; exact resume needs the same data (use --init-from to continue on other data)")
            }
            try windows.restore(mixture)
        }
    }
}
