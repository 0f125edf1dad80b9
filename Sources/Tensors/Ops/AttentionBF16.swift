import CDNNLMatmul
import Foundation

// Bidirectional attention in native bf16 precision: its four kinds of products (Q Kᵀ, P V and, in backward, Pᵀ dO,
// dO Vᵀ, dS K, dSᵀ Q) take bf16 operands through oneDNN's batched bf16 matmul, one call for a chunk of (batch,
// head) pairs, while the softmax and its statistics (row max, log-sum-exp, δ = rowsum(dO ∘ O)) and every
// accumulation stay fp32, as torch.autocast runs attention on a CPU. q, k and v are converted once in forward and
// kept for backward; dO once in backward. The score block of a chunk, (pairs, Tq, Tk) in fp32, is the only
// quadratic buffer: chunks hold at most 1 MiB of it, and backward recomputes the scores from q, k and the saved
// log-sum-exp (no probabilities are kept between the passes). Causal attention stays on the fused fp32 kernel,
// which skips the masked half of the scores that a dense product would compute.

/// The result and the bf16 copies that backward reads.
struct BFloat16Attention {
    let out: Tensor
    let logSumExp: Tensor
    let q16: BFloat16Copy, k16: BFloat16Copy, v16: BFloat16Copy
}

/// (batch, head) pairs per batched product: the fp32 scores of one chunk stay within 1 MiB, so that the passes over
/// them find them in cache. audio-small's attention (16 × 4 heads, T 256) on 2 Zen 4 cores: 1 MiB chunks (4 pairs)
/// 22 + 55 ms forward + backward a step, 2 MiB 23 + 59, 8 MiB 28 + 64; oneDNN's batched bf16 products run as fast
/// for 4 pairs a call as for 64.
func attentionBF16ChunkPairs(_ shape: AttentionShape) -> Int {
    let pairs = shape.batch * shape.heads
    return max(1, min(pairs, (1 << 20) / max(1, shape.queryLength * shape.keyLength * 4)))
}

/// Forward pass: out (B, H, Tq, Dv) = softmax(scale · Q Kᵀ + keyBias) V and logSumExp (B, H, Tq) (+∞ for a row
/// that sees no key; its output is zeros), as `attentionForward` defines them.
func attentionForwardBF16(native: OneDNNBackend, query: Tensor, key: Tensor, value: Tensor,
                          keyBias: UnsafePointer<Float>?, shape: AttentionShape) -> BFloat16Attention {
    let tq = shape.queryLength, tk = shape.keyLength, d = shape.headDim, dv = shape.valueDim
    let pairs = shape.batch * shape.heads, chunk = attentionBF16ChunkPairs(shape)
    let q16 = BFloat16Copy(query.data, count: query.count), k16 = BFloat16Copy(key.data, count: key.count)
    let v16 = BFloat16Copy(value.data, count: value.count)
    let out = Tensor(uninitialized: [shape.batch, shape.heads, tq, dv])
    let logSumExp = Tensor(uninitialized: [shape.batch, shape.heads, tq])
    let scores = Tensor(uninitialized: [chunk * tq * tk]), probs = BFloat16Buffer(count: chunk * tq * tk)
    let s = scores.data, p16 = probs.pointer, lse = logSumExp.data
    for first in stride(from: 0, to: pairs, by: chunk) {
        let count = min(chunk, pairs - first)
        // S (count, Tq, Tk) = scale · Q Kᵀ
        native.batchedGemmBF16(transA: false, transB: true, batch: count, m: tq, n: tk, k: d, alpha: shape.scale,
                               a: q16.pointer + first * tq * d, lda: d, strideA: tq * d,
                               b: k16.pointer + first * tk * d, ldb: d, strideB: tk * d,
                               c: s, ldc: tk, strideC: tq * tk)
        // P = softmax(S + keyBias) by rows, in bf16
        parallelFor(count * tq, grain: 16) { rows in
            for row in rows {
                let bias = keyBias.map { $0 + ((first + row / tq) / shape.heads) * tk }
                lse[first * tq + row] = attentionSoftmaxRow(s + row * tk, count: tk, bias: bias, into: p16 + row * tk)
            }
        }
        // O (count, Tq, Dv) = P V
        native.batchedGemmBF16(transA: false, transB: false, batch: count, m: tq, n: dv, k: tk,
                               a: p16, lda: tk, strideA: tq * tk, b: v16.pointer + first * tk * dv, ldb: dv,
                               strideB: tk * dv, c: out.data + first * tq * dv, ldc: dv, strideC: tq * dv)
    }
    return BFloat16Attention(out: out, logSumExp: logSumExp, q16: q16, k16: k16, v16: v16)
}

/// One row of scores (+ the key bias) → its softmax probabilities in bf16; returns the row's log-sum-exp, or +∞
/// (and zeros) when every key is masked. The fp32 row is left holding exp(s − max).
@inline(__always)
func attentionSoftmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int, bias: UnsafePointer<Float>?,
                         into probabilities: UnsafeMutablePointer<UInt16>) -> Float {
    if let bias {
        forEachVector(count) { offset, lanes in
            (row + offset).storeVector((row + offset).loadVector(lanes) + (bias + offset).loadVector(lanes), lanes)
        }
    }
    let rowMax = vectorMax(row, count)
    if rowMax == -.infinity {
        probabilities.update(repeating: 0, count: count)
        return .infinity
    }
    // fastExp(−∞) is exactly 0: masked keys get probability 0
    let total = vectorStoreExp(row, count, shift: rowMax, into: row), inverse = FloatVector(repeating: 1 / total)
    forEachVector(count) { offset, lanes in (row + offset).storeVector((row + offset).loadVector(lanes) * inverse, lanes) }
    sp_f32_to_bf16(row, probabilities, Int64(count))
    return rowMax + Foundation.log(total)
}

/// Backward pass: accumulates dq (B, H, Tq, D), dk (B, H, Tk, D) and dv (B, H, Tk, Dv) (each nil when not needed)
/// from dOut (B, H, Tq, Dv). Per chunk, with P = exp(S + keyBias − lse) recomputed: dV += Pᵀ dO, dP = dO Vᵀ,
/// dS = P ∘ (dP − δ), dQ += scale · dS K, dK += scale · dSᵀ Q.
func attentionBackwardBF16(native: OneDNNBackend, saved: BFloat16Attention, keyBias: UnsafePointer<Float>?,
                           dOut: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>?,
                           dk: UnsafeMutablePointer<Float>?, dv: UnsafeMutablePointer<Float>?, shape: AttentionShape) {
    let tq = shape.queryLength, tk = shape.keyLength, d = shape.headDim, dValue = shape.valueDim
    let pairs = shape.batch * shape.heads, chunk = attentionBF16ChunkPairs(shape)
    let needsScoreGradient = dq != nil || dk != nil
    let dOut16 = BFloat16Copy(dOut, count: pairs * tq * dValue)
    let q16 = saved.q16.pointer, k16 = saved.k16.pointer, v16 = saved.v16.pointer, o16 = dOut16.pointer
    let scores = Tensor(uninitialized: [chunk * tq * tk])
    let dScores = needsScoreGradient ? Tensor(uninitialized: [chunk * tq * tk]) : nil
    let probs = BFloat16Buffer(count: chunk * tq * tk)
    let scoreGradients = BFloat16Buffer(count: needsScoreGradient ? chunk * tq * tk : 0)
    let s = scores.data, p16 = probs.pointer, ds16 = scoreGradients.pointer
    let lse = saved.logSumExp.data, out = saved.out.data
    // δ (pairs·Tq) = rowsum(dO ∘ O)
    let delta = Tensor(uninitialized: [pairs * tq])
    parallelFor(pairs * tq, grain: 64) { rows in
        for row in rows {
            var sums = FloatVector()
            forEachVector(dValue) { offset, lanes in
                sums += (dOut + row * dValue + offset).loadVector(lanes) * (out + row * dValue + offset).loadVector(lanes)
            }
            delta.data[row] = sums.sum()
        }
    }
    for first in stride(from: 0, to: pairs, by: chunk) {
        let count = min(chunk, pairs - first)
        // S (count, Tq, Tk) = scale · Q Kᵀ and, for dq or dk, dP (count, Tq, Tk) = dO Vᵀ
        native.batchedGemmBF16(transA: false, transB: true, batch: count, m: tq, n: tk, k: d, alpha: shape.scale,
                               a: q16 + first * tq * d, lda: d, strideA: tq * d, b: k16 + first * tk * d, ldb: d,
                               strideB: tk * d, c: s, ldc: tk, strideC: tq * tk)
        if let ds = dScores?.data {
            native.batchedGemmBF16(transA: false, transB: true, batch: count, m: tq, n: tk, k: dValue,
                                   a: o16 + first * tq * dValue, lda: dValue, strideA: tq * dValue,
                                   b: v16 + first * tk * dValue, ldb: dValue, strideB: tk * dValue,
                                   c: ds, ldc: tk, strideC: tq * tk)
        }
        // One pass by rows: P = exp(S + keyBias − lse) and dS = P ∘ (dP − δ), both in bf16
        let ds = dScores?.data
        parallelFor(count * tq, grain: 16) { rows in
            for row in rows {
                let r = s + row * tk, bias = keyBias.map { $0 + ((first + row / tq) / shape.heads) * tk }
                let shift = FloatVector(repeating: lse[first * tq + row])
                let g = ds.map { $0 + row * tk }, rowDelta = FloatVector(repeating: delta.data[first * tq + row])
                forEachVector(tk) { offset, lanes in
                    var x = (r + offset).loadVector(lanes)
                    if let bias { x += (bias + offset).loadVector(lanes) }
                    let p = attentionExp(x - shift)
                    (r + offset).storeVector(p, lanes)
                    if let g { (g + offset).storeVector(p * ((g + offset).loadVector(lanes) - rowDelta), lanes) }
                }
                sp_f32_to_bf16(r, p16 + row * tk, Int64(tk))
                if let g { sp_f32_to_bf16(g, ds16 + row * tk, Int64(tk)) }
            }
        }
        if let dv {
            // dV (count, Tk, Dv) += Pᵀ dO
            native.batchedGemmBF16(transA: true, transB: false, batch: count, m: tk, n: dValue, k: tq,
                                   a: p16, lda: tk, strideA: tq * tk, b: o16 + first * tq * dValue, ldb: dValue,
                                   strideB: tq * dValue, beta: 1, c: dv + first * tk * dValue, ldc: dValue,
                                   strideC: tk * dValue)
        }
        if let dq {
            // dQ (count, Tq, D) += scale · dS K
            native.batchedGemmBF16(transA: false, transB: false, batch: count, m: tq, n: d, k: tk, alpha: shape.scale,
                                   a: ds16, lda: tk, strideA: tq * tk, b: k16 + first * tk * d, ldb: d, strideB: tk * d,
                                   beta: 1, c: dq + first * tq * d, ldc: d, strideC: tq * d)
        }
        if let dk {
            // dK (count, Tk, D) += scale · dSᵀ Q
            native.batchedGemmBF16(transA: true, transB: false, batch: count, m: tk, n: d, k: tq, alpha: shape.scale,
                                   a: ds16, lda: tk, strideA: tq * tk, b: q16 + first * tq * d, ldb: d, strideB: tq * d,
                                   beta: 1, c: dk + first * tk * d, ldc: d, strideC: tk * d)
        }
    }
}
