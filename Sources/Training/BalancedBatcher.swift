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
    /// The train shards, read in place (document ranges count tokens across them, as documents.jsonl does), and the
    /// offset of each one's first token.
    private let shards: [[Int32]]
    private let shardStarts: [Int]
    private let totalTokens: Int
    /// Per group: the running token counts of its ranges (for the uniform position), and their total.
    private let cumulative: [[Int]]
    private var random: RandomGenerator
    private var tokens: [Int]

    public init(groups: [TrainingCorpus.DocumentGroup], shards: [[Int32]], context: Int, batchSize: Int, seed: UInt64,
                shard: DataShard = .whole) throws {
        precondition(!groups.isEmpty, "balanced windows need at least one group")
        self.shards = shards
        var starts = [0]
        for shard in shards { starts.append(starts.last! + shard.count) }
        totalTokens = starts.removeLast()
        shardStarts = starts
        guard totalTokens > context else {
            throw TrainingError("the train split holds \(totalTokens) tokens, fewer than one window of \(context + 1)")
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
            start = min(start, totalTokens - windowLength)
            copyWindow(from: start, to: destination)
            tokens[group] += windowLength - 1
        }
    }

    /// Copies the window of the train tokens that begins at `start` (counted across the shards) to `destination`.
    private func copyWindow(from start: Int, to destination: UnsafeMutablePointer<Int32>) {
        // The last shard that begins at or before `start`.
        var (low, high) = (0, shardStarts.count - 1)
        while low < high {
            let middle = (low + high + 1) / 2
            if shardStarts[middle] <= start { low = middle } else { high = middle - 1 }
        }
        var (shard, offset, copied) = (low, start - shardStarts[low], 0)
        while copied < windowLength {
            let count = min(windowLength - copied, shards[shard].count - offset)
            shards[shard].withUnsafeBufferPointer { source in (destination + copied).update(from: source.baseAddress! + offset, count: count) }
            (copied, shard, offset) = (copied + count, shard + 1, 0)
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
