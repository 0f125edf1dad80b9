import Foundation
import Tensors

/// Where a BalancedBatcher is: its random stream and the tokens drawn from each group.
public struct BalancedState: Codable, Equatable {
    public var random: RandomState
    public var tokens: [String: Int]
}

/// Windows balanced by a document field (`data.balance_by`): each window's group is drawn uniformly, so every value
/// gets the same share of the training tokens however many documents it has; within the group a token position is
/// drawn uniformly over its documents' tokens and the window starts there, moved back to fit inside its document
/// when the document holds a whole window (a shorter document's window starts at its own beginning and runs on into
/// the documents after it). A function of the seed; `state`/`restore` continue it exactly.
public final class BalancedBatcher {
    public let groups: [TrainingCorpus.DocumentGroup]
    public let batchSize: Int
    public let windowLength: Int
    public let shard: DataShard
    private let stream: [Int32]
    /// Per group: the running token counts of its ranges (for the uniform position), and their total.
    private let cumulative: [[Int]]
    private var random: RandomGenerator
    private var tokens: [Int]

    public init(groups: [TrainingCorpus.DocumentGroup], shards: [[Int32]], context: Int, batchSize: Int, seed: UInt64,
                shard: DataShard = .whole) throws {
        precondition(!groups.isEmpty, "balanced windows need at least one group")
        stream = Array(shards.joined())
        guard stream.count > context else {
            throw TrainingError("the train split holds \(stream.count) tokens, fewer than one window of \(context + 1)")
        }
        self.groups = groups
        self.batchSize = batchSize
        self.shard = shard
        windowLength = context + 1
        cumulative = groups.map { group in
            var total = 0
            return group.ranges.map { range in total += range.count; return total }
        }
        random = RandomGenerator(seed: seed)
        tokens = Array(repeating: 0, count: groups.count)
    }

    /// The next micro-batch: (B, T+1).
    public func next() -> IntTensor {
        shard.keepOwnRows(batchSize, width: windowLength) { destination in
            let group = random.nextInt(below: groups.count)
            let sums = cumulative[group]
            let position = random.nextInt(below: sums.last!)
            // The document holding `position`: the first running count above it.
            var low = 0, high = sums.count - 1
            while low < high {
                let middle = (low + high) / 2
                if sums[middle] > position { high = middle } else { low = middle + 1 }
            }
            let document = groups[group].ranges[low]
            let offset = position - (low > 0 ? sums[low - 1] : 0)
            var start = document.count >= windowLength ? document.lowerBound + min(offset, document.count - windowLength) : document.lowerBound
            start = min(start, stream.count - windowLength)
            stream.withUnsafeBufferPointer { source in destination.update(from: source.baseAddress! + start, count: windowLength) }
            tokens[group] += windowLength - 1
        }
    }

    /// Training tokens drawn from each group so far, by value.
    public var tokensByGroup: [String: Int] { Dictionary(uniqueKeysWithValues: zip(groups.map(\.value), tokens)) }

    public var state: BalancedState { BalancedState(random: RandomState(random), tokens: tokensByGroup) }

    public func restore(_ state: BalancedState) throws {
        guard Set(state.tokens.keys) == Set(groups.map(\.value)) else {
            throw TrainingError("the document groups changed since the checkpoint: it had "
                + "\(state.tokens.keys.sorted().joined(separator: ", ")), now \(groups.map(\.value).joined(separator: ", "))")
        }
        random = try state.random.generator()
        tokens = groups.map { state.tokens[$0.value] ?? 0 }
    }
}
