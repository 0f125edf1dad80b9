import Layers
import Tensors

// What SALT's data selection and the teacher cache share: cutting a corpus into windows and running a decoder over
// them, a batch at a time, forward only.

/// The windows of `length` tokens starting every `stride` tokens of each shard (a shard shorter than `length` gives
/// none): stride T with length T + 1 are sequential sampling's windows; stride = length cuts disjoint ones.
func tokenWindows(_ shards: [[Int32]], length: Int, stride step: Int) -> [ArraySlice<Int32>] {
    var windows: [ArraySlice<Int32>] = []
    for shard in shards where shard.count >= length {
        for start in stride(from: 0, through: shard.count - length, by: step) { windows.append(shard[start..<(start + length)]) }
    }
    return windows
}

/// Runs `model` (in evaluation mode, without a tape) over `windows` of T + 1 tokens, `batchSize` at a time: `body`
/// gets each batch's windows (B, T+1) and the next-token log-probabilities of their first T tokens (B, T, V).
func forEachWindowBatch(_ windows: [ArraySlice<Int32>], model: GPTModel, batchSize: Int,
                        _ body: (_ windows: IntTensor, _ logProbabilities: Tensor) throws -> Void) rethrows {
    guard let width = windows.first?.count else { return }
    model.eval()
    try noGrad {
        for first in stride(from: 0, to: windows.count, by: batchSize) {
            let batch = windows[first..<min(first + batchSize, windows.count)]
            let tokens = IntTensor(batch.flatMap { $0 }, shape: [batch.count, width])
            try body(tokens, logSoftmax(model.forward(tokens: tokens.columns(0..<(width - 1)))))
        }
    }
}
