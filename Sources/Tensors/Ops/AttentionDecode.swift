import Foundation

// Causal attention of a few new queries over a KV cache kept in place (decoding), without a tape. The cache's key
// and value buffers have room for more positions than they hold, (B, H, capacity, D), so that appending a token
// writes its row and copies nothing else; the kernel reads each head's first `keyLength` rows where they lie. Per
// (batch, head) and query row: scores by dot products over D, an exact softmax over the visible keys, and the
// probability-weighted sum of value rows, so each cached row is read once per query and the cache is never copied
// or transposed (the fused kernel of Attention.swift transposes a head's keys for its tiles, which for one query
// costs as much as the attention itself).

/// query (B, H, Tq, D), keys (B, H, capacity, D), values (B, H, capacity, Dv) → (B, H, Tq, Dv): causal attention of
/// the queries over the first `keyLength` positions of the buffers, the queries being the last Tq of those positions
/// (as `scaledDotProductAttention(causal: true)` aligns Tq < Tk). No gradient is recorded.
public func cachedCausalAttention(query: Tensor, keys: Tensor, values: Tensor, keyLength: Int,
                                  scale: Float? = nil) -> Tensor {
    precondition(!Autograd.needsGradient(query, keys, values),
                 "cached attention records no gradient: run KV-cache decoding under noGrad")
    precondition(query.rank == 4 && keys.rank == 4 && values.rank == 4, "cached attention needs (B, H, T, D) tensors")
    let batch = query.size(0), heads = query.size(1), tq = query.size(2), d = query.size(3)
    let capacity = keys.size(2), dv = values.size(3)
    precondition(keys.shape == [batch, heads, capacity, d] && values.shape == [batch, heads, capacity, dv],
                 "cached attention: q \(query.shape), keys \(keys.shape), values \(values.shape) disagree")
    precondition(tq <= keyLength && keyLength <= capacity,
                 "cached attention: \(tq) queries over \(keyLength) keys in a buffer of \(capacity)")
    let scale = scale ?? 1 / Float(d).squareRoot()
    let out = Tensor(uninitialized: [batch, heads, tq, dv])
    let q = query.data, k = keys.data, v = values.data, o = out.data
    // One work item is one query row of one (batch, head): a batch-1 token still spreads its heads over the threads.
    parallelFor(batch * heads * tq) { rows in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: keyLength)
        defer { scores.deallocate() }
        for row in rows {
            let pair = row / tq, visible = keyLength - tq + row % tq + 1
            let queryRow = q + row * d, keyHead = k + pair * capacity * d, valueHead = v + pair * capacity * dv
            // s_j = scale · q · k_j, j < visible
            for j in 0..<visible {
                var sums = FloatVector()
                let keyRow = keyHead + j * d
                forEachVector(d) { offset, lanes in
                    sums = sums.addingProduct((queryRow + offset).loadVector(lanes), (keyRow + offset).loadVector(lanes))
                }
                scores[j] = scale * sums.sum()
            }
            // p_j = exp(s_j − max) / Σ, then o = Σ_j p_j v_j
            let total = vectorStoreExp(scores, visible, shift: vectorMax(scores, visible), into: scores)
            let inverse = 1 / total, outRow = o + row * dv
            outRow.update(repeating: 0, count: dv)
            for j in 0..<visible {
                let weight = FloatVector(repeating: scores[j] * inverse), valueRow = valueHead + j * dv
                forEachVector(dv) { offset, lanes in
                    (outRow + offset).storeVector(
                        (outRow + offset).loadVector(lanes).addingProduct(weight, (valueRow + offset).loadVector(lanes)), lanes)
                }
            }
        }
    }
    return out
}
