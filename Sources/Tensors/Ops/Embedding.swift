/// Row lookup, as torch.nn.functional.embedding. weight: (V, C), indices: S → out: S + [C].
/// Backward scatter-adds each output row's gradient into row `indices[n]` of weight's gradient; repeated
/// indices accumulate.
public func embedding(_ weight: Tensor, indices: IntTensor) -> Tensor {
    precondition(weight.rank == 2, "embedding weight must be (V, C), shape is \(weight.shape)")
    let vocabulary = weight.size(0), channels = weight.size(1)
    let ids = indices.values
    for (position, id) in ids.enumerated() {
        precondition(id >= 0 && Int(id) < vocabulary,
                     "embedding index \(id) at position \(position) is out of range for vocabulary size V = \(vocabulary)")
    }
    let out = Tensor(uninitialized: indices.shape + [channels])
    let table = weight.data, rows = out.data
    ids.withUnsafeBufferPointer { ids in
        parallelFor(ids.count, grain: max(1, (1 << 15) / max(channels, 1))) { positions in
            for n in positions {
                (rows + n * channels).update(from: table + Int(ids[n]) * channels, count: channels)
            }
        }
    }
    guard Autograd.needsGradient(weight) else { return out }
    Autograd.record(out) {
        ids.withUnsafeBufferPointer { ids in
            embeddingBackward(out.grad!.data, ids: ids, into: weight.gradData(), vocabulary: vocabulary,
                              channels: channels)
        }
    }
    return out
}

/// dy: (N, C) → dweight: (V, C), dweight[ids[n]] += dy[n].
///
/// Small problems run sequentially. Larger ones are parallel without atomics: positions are grouped by
/// row (a stable counting sort), the sorted list is cut into equal chunks, and each thread owns the rows
/// whose first position falls in its chunk. Chunks balance even when a few ids dominate, and each row
/// sums its positions in ascending order, so the result is bitwise the sequential one.
func embeddingBackward(_ dy: UnsafePointer<Float>, ids: UnsafeBufferPointer<Int32>,
                       into dweight: UnsafeMutablePointer<Float>, vocabulary: Int, channels: Int) {
    let n = ids.count
    @inline(__always) func addRow(_ position: Int) {
        let source = dy + position * channels, target = dweight + Int(ids[position]) * channels
        for j in 0..<channels { target[j] += source[j] }
    }
    guard n * channels >= 1 << 16, Runtime.threads > 1 else {
        for position in 0..<n { addRow(position) }
        return
    }
    // rowEnd[v] is one past the last sorted slot of row v; row v occupies rowEnd[v - 1] ..< rowEnd[v].
    var rowEnd = [Int](repeating: 0, count: vocabulary)
    for id in ids { rowEnd[Int(id)] += 1 }
    for v in 1..<vocabulary { rowEnd[v] += rowEnd[v - 1] }
    var byRow = [Int32](repeating: 0, count: n)
    var next = [Int](repeating: 0, count: vocabulary)
    for v in 1..<vocabulary { next[v] = rowEnd[v - 1] }
    for (position, id) in ids.enumerated() {
        byRow[next[Int(id)]] = Int32(position)
        next[Int(id)] += 1
    }
    rowEnd.withUnsafeBufferPointer { rowEnd in
        byRow.withUnsafeBufferPointer { byRow in
            parallelFor(n, grain: max(1, (1 << 15) / channels)) { chunk in
                var slot = chunk.lowerBound
                // A row already under way belongs to the chunk where it began.
                if slot > 0 && ids[Int(byRow[slot])] == ids[Int(byRow[slot - 1])] {
                    slot = rowEnd[Int(ids[Int(byRow[slot])])]
                }
                while slot < chunk.upperBound {
                    let end = rowEnd[Int(ids[Int(byRow[slot])])]
                    for k in slot..<end { addRow(Int(byRow[k])) }
                    slot = end
                }
            }
        }
    }
}
