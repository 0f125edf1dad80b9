import Foundation
import Tensors

/// Where a TokenBatcher is: enough to continue the same sequence of windows after a restart.
public struct BatcherState: Codable, Equatable {
    /// The window-offset stream (random sampling).
    public var random: RandomState
    /// Next window (sequential sampling): shard index and token offset in it.
    public var shard = 0
    public var offset = 0
    /// Completed passes over the train shards (sequential sampling).
    public var epoch = 0
    public var windowsDrawn = 0
    /// Train tokens of the corpus the state belongs to, checked on restore.
    public var corpusTokens = 0

    enum CodingKeys: String, CodingKey {
        case random, shard, offset, epoch, windowsDrawn = "windows_drawn", corpusTokens = "corpus_tokens"
    }
}

/// Cuts (B, T+1) windows of consecutive tokens from token shards, deterministically from a seed.
///
/// Random sampling draws each window's start uniformly among all positions of all shards where a whole window
/// fits (a window never crosses a shard boundary), as nanoGPT's `get_batch`. Sequential sampling walks the
/// shards in order with stride T, so consecutive windows share one token (the last target of one window is the
/// first input of the next) and every token is predicted once per epoch, as llm.c's data loader.
public final class TokenBatcher {
    public let sampling: DataSection.Sampling
    /// Tokens per window: context + 1 (inputs and the shifted targets).
    public let windowLength: Int
    public let batchSize: Int
    /// This process' part of each global batch of `shard.count · batchSize` windows.
    public let shard: DataShard
    private let shards: [[Int32]]
    /// cumulativeStarts[i]: number of valid window starts in shards 0..<i (random sampling).
    private let cumulativeStarts: [Int]
    private var random: RandomGenerator
    private var position: (shard: Int, offset: Int) = (0, 0)
    private var epoch = 0
    private var windowsDrawn = 0
    private let corpusTokens: Int

    public init(shards: [[Int32]], context: Int, batchSize: Int, sampling: DataSection.Sampling, seed: UInt64,
                shard: DataShard = .whole) throws {
        precondition(context >= 1 && batchSize >= 1, "context and batch size must be positive")
        self.shards = shards
        self.sampling = sampling
        windowLength = context + 1
        self.batchSize = batchSize
        self.shard = shard
        random = RandomGenerator(seed: seed)
        corpusTokens = shards.reduce(0) { $0 + $1.count }
        var cumulative = [0]
        for shard in shards { cumulative.append(cumulative.last! + max(0, shard.count - context)) }
        cumulativeStarts = cumulative
        guard cumulative.last! > 0 else {
            let longest = shards.map(\.count).max() ?? 0
            throw TrainingError("the train shards are too short for one window of context \(context) + 1 tokens "
                + "(longest shard: \(longest) tokens); lower model.context or add data")
        }
        position = (firstUsableShard(from: 0), 0)
    }

    public var state: BatcherState {
        BatcherState(random: RandomState(random), shard: position.shard, offset: position.offset, epoch: epoch,
                     windowsDrawn: windowsDrawn, corpusTokens: corpusTokens)
    }

    public func restore(_ state: BatcherState) throws {
        guard state.corpusTokens == corpusTokens else {
            throw TrainingError("the train data changed since the checkpoint: it had \(state.corpusTokens) tokens, "
                + "now \(corpusTokens); exact resume needs the same corpus (use --init-from to continue on new data)")
        }
        guard state.shard >= 0, state.shard < shards.count, state.offset >= 0,
              state.offset + windowLength <= shards[state.shard].count || sampling == .random else {
            throw TrainingError("batcher state (shard \(state.shard), offset \(state.offset)) is outside the train shards")
        }
        random = try state.random.generator()
        position = (state.shard, state.offset)
        epoch = state.epoch
        windowsDrawn = state.windowsDrawn
    }

    /// The next micro-batch: (B, T+1), this rank's rows of the N·B the stream draws.
    public func next() -> IntTensor {
        shard.keepOwnRows(batchSize, width: windowLength) { writeNextWindow(to: $0) }
    }

    /// Copies the next window (T+1 tokens) to `destination` (a mixture assembles its batches window by window).
    func writeNextWindow(to destination: UnsafeMutablePointer<Int32>) {
        let (shard, start) = nextWindowStart()
        shards[shard].withUnsafeBufferPointer { tokens in
            destination.update(from: tokens.baseAddress! + start, count: windowLength)
        }
        windowsDrawn += 1
    }

    private func nextWindowStart() -> (shard: Int, offset: Int) {
        switch sampling {
        case .random:
            let draw = random.nextInt(below: cumulativeStarts.last!)
            // The last shard whose first start index is ≤ draw (binary search over the cumulative counts).
            var (low, high) = (0, shards.count - 1)
            while low < high {
                let middle = (low + high + 1) / 2
                if cumulativeStarts[middle] <= draw { low = middle } else { high = middle - 1 }
            }
            return (low, draw - cumulativeStarts[low])
        case .sequential:
            let current = position
            var next = (shard: current.shard, offset: current.offset + windowLength - 1)
            if next.offset + windowLength > shards[next.shard].count {
                let following = firstUsableShard(from: next.shard + 1)
                if following <= next.shard { epoch += 1 }
                next = (following, 0)
            }
            position = next
            return current
        }
    }

    /// The first shard at or after `index` (wrapping around) that holds a whole window.
    private func firstUsableShard(from index: Int) -> Int {
        for step in 0..<shards.count {
            let candidate = (index + step) % shards.count
            if shards[candidate].count >= windowLength { return candidate }
        }
        preconditionFailure("no shard holds a window (checked in init)")
    }
}

/// Non-overlapping evaluation windows: consecutive (T+1)-token windows with stride T over every shard, in order,
/// grouped into micro-batches of at most `batchSize` rows. The same windows every time, so evaluations compare.
public func evaluationBatches(shards: [[Int32]], context: Int, batchSize: Int, limit: Int? = nil) -> [IntTensor] {
    let length = context + 1
    var batches: [IntTensor] = []
    var rows: [Int32] = []
    var rowCount = 0
    func flush() {
        guard rowCount > 0 else { return }
        batches.append(IntTensor(rows, shape: [rowCount, length]))
        rows.removeAll(keepingCapacity: true)
        rowCount = 0
    }
    outer: for shard in shards {
        var offset = 0
        while offset + length <= shard.count {
            if let limit, batches.count >= limit { break outer }
            rows += shard[offset..<(offset + length)]
            rowCount += 1
            offset += context
            if rowCount == batchSize { flush() }
        }
    }
    if limit.map({ batches.count < $0 }) ?? true { flush() }
    return batches
}

public struct TrainingError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
