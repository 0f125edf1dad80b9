import Foundation
import Tensors

/// Where a MixtureBatcher is: the source-choice stream and every source's own position.
public struct MixtureState: Codable, Equatable {
    public var choice: RandomState
    /// Each source's batcher, by source name.
    public var sources: [String: BatcherState]
    /// Training tokens (T per window) drawn from each source so far.
    public var tokens: [String: Int]
    /// `data.skill_it`'s losses and weights (nil for static weights).
    public var skillIt: SkillItState?
}

/// Cuts (B, T+1) batches whose windows come from several sources: each window's source is drawn by the weights
/// of the plan's phase at the current step, from a stream of its own; the window itself is the next one of that
/// source's TokenBatcher (random or sequential, over the source's subset when it has one). Every stream is
/// seeded from the run's seed, so the batches are a function of the seed, and `state`/`restore` continue them
/// exactly.
public final class MixtureBatcher {
    public let plan: MixturePlan
    public let batchSize: Int
    public let windowLength: Int
    /// This process' part of each global batch (the source counts are global: every rank draws every window).
    public let shard: DataShard
    private let sources: [TokenBatcher]
    private var choice: RandomGenerator
    private var tokens: [Int]
    /// Weights set from outside (Skill-it's online rule) in place of the plan's; nil: the plan's phase weights.
    public var weightsOverride: [Double]?

    /// `shards[i]`: the train shards of `plan.sources[i]`.
    public init(plan: MixturePlan, shards: [[[Int32]]], context: Int, batchSize: Int,
                sampling: DataSection.Sampling, seed: UInt64, shard: DataShard = .whole) throws {
        precondition(shards.count == plan.sources.count, "one shard list per source")
        self.plan = plan
        self.batchSize = batchSize
        self.shard = shard
        windowLength = context + 1
        choice = RandomGenerator(seed: seed)
        tokens = Array(repeating: 0, count: plan.sources.count)
        sources = try zip(plan.sources, shards).map { source, shards in
            do {
                return try TokenBatcher(shards: shards, context: context, batchSize: 1, sampling: sampling,
                                        seed: Self.sourceSeed(seed, name: source.name))
            } catch let error as TrainingError {
                throw TrainingError("mixture source '\(source.name)' (\(source.corpus)): \(error.message)")
            }
        }
    }

    /// A stream per source that depends on its name only, so adding a source leaves the others' windows alone.
    static func sourceSeed(_ seed: UInt64, name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return seed ^ hash
    }

    /// The next micro-batch for update `step`: (B, T+1).
    public func next(step: Int) -> IntTensor {
        let weights = weightsOverride ?? plan.weights(at: step)
        return shard.keepOwnRows(batchSize, width: windowLength) { destination in
            let source = draw(weights)
            sources[source].writeNextWindow(to: destination)
            tokens[source] += windowLength - 1
        }
    }

    /// A source index with probability proportional to its weight (53-bit uniform against the running sum).
    private func draw(_ weights: [Double]) -> Int {
        let uniform = Double(choice.next() >> 11) * 0x1p-53
        var cumulative = 0.0
        for (index, weight) in weights.enumerated() where weight > 0 {
            cumulative += weight
            if uniform < cumulative { return index }
        }
        return weights.lastIndex { $0 > 0 }!   // rounding left the sum just under 1
    }

    /// Training tokens drawn from each source so far, by name.
    public var tokensBySource: [String: Int] {
        Dictionary(uniqueKeysWithValues: zip(plan.sources.map(\.name), tokens))
    }

    public var state: MixtureState {
        MixtureState(choice: RandomState(choice),
                     sources: Dictionary(uniqueKeysWithValues: zip(plan.sources.map(\.name), sources.map(\.state))),
                     tokens: tokensBySource, skillIt: nil)
    }

    public func restore(_ state: MixtureState) throws {
        let names = plan.sources.map(\.name)
        guard Set(state.sources.keys) == Set(names) else {
            throw TrainingError("the mixture changed since the checkpoint: it had sources "
                + "\(state.sources.keys.sorted().joined(separator: ", ")), now \(names.joined(separator: ", ")); "
                + "exact resume needs the same sources (use --init-from to continue on new data)")
        }
        for (index, name) in names.enumerated() {
            do {
                try sources[index].restore(state.sources[name]!)
            } catch let error as TrainingError {
                throw TrainingError("mixture source '\(name)': \(error.message)")
            }
            tokens[index] = state.tokens[name] ?? 0
        }
        choice = try state.choice.generator()
    }
}
