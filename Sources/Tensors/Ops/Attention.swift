import Foundation

/// Scaled dot-product attention, softmax(scale · Q Kᵀ + mask) · V, as torch's `scaled_dot_product_attention`.
///
/// query: (B, H, Tq, D), key: (B, H, Tk, D), value: (B, H, Tk, Dv) → (B, H, Tq, Dv).
/// - `causal`: query i attends keys j ≤ i + (Tk − Tq). With Tq = Tk this is the usual lower triangle; with
///   Tq < Tk the queries are the LAST Tq positions of the sequence (KV-cache decoding), so the last query
///   sees every key.
/// - `keyPadding` (B, Tk): 1 = padded key, never attended; 0 = real key.
/// - `scale` defaults to 1/√D.
///
/// In native bf16 precision (`Matmul.setPrecision(.bf16)`) bidirectional attention multiplies bf16 operands with
/// fp32 softmax statistics (AttentionBF16.swift); causal attention, and every other precision, runs the fused fp32
/// kernel below.
///
/// A query row whose every key is masked (all keys padded, or a causal row before the first key) outputs
/// zeros and passes zero gradient to q, k and v. (torch returns NaN for such rows.)
///
/// Fused in the manner of FlashAttention-2 (Dao 2023, arXiv:2307.08691, Algorithms 1 and 2): the (Tq, Tk) score
/// matrix never exists; blocks of queries meet blocks of keys with an online softmax, and the backward pass
/// recomputes the probabilities from q, k and the per-row log-sum-exp saved by the forward pass.
public func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, causal: Bool,
                                      keyPadding: IntTensor? = nil, scale: Float? = nil) -> Tensor {
    let shape = AttentionShape(query: query, key: key, value: value, causal: causal, keyPadding: keyPadding,
                               scale: scale)
    let keyBias = keyPadding.map { attentionKeyBias($0) }
    if let native = Matmul.nativeBF16, !causal {
        // Native bf16 precision: bf16 products, fp32 softmax statistics (AttentionBF16.swift).
        let saved = withOptionalPointer(keyBias) { bias in
            attentionForwardBF16(native: native, query: query, key: key, value: value, keyBias: bias, shape: shape)
        }
        guard Autograd.needsGradient(query, key, value) else { return saved.out }
        Autograd.record(saved.out) {
            withOptionalPointer(keyBias) { bias in
                attentionBackwardBF16(native: native, saved: saved, keyBias: bias, dOut: saved.out.grad!.data,
                                      dq: query.requiresGrad ? query.gradData() : nil,
                                      dk: key.requiresGrad ? key.gradData() : nil,
                                      dv: value.requiresGrad ? value.gradData() : nil, shape: shape)
            }
        }
        return saved.out
    }
    let out = Tensor(uninitialized: [shape.batch, shape.heads, shape.queryLength, shape.valueDim])
    let logSumExp = Tensor(uninitialized: [shape.batch, shape.heads, shape.queryLength])
    withOptionalPointer(keyBias) { bias in
        attentionForward(q: query.data, k: key.data, v: value.data, keyBias: bias,
                         out: out.data, logSumExp: logSumExp.data, shape: shape)
    }
    guard Autograd.needsGradient(query, key, value) else { return out }
    Autograd.record(out) {
        withOptionalPointer(keyBias) { bias in
            attentionBackward(q: query.data, k: key.data, v: value.data, keyBias: bias, out: out.data,
                              logSumExp: logSumExp.data, dOut: out.grad!.data,
                              dq: query.requiresGrad ? query.gradData() : nil,
                              dk: key.requiresGrad ? key.gradData() : nil,
                              dv: value.requiresGrad ? value.gradData() : nil, shape: shape)
        }
    }
    return out
}

/// Sizes and masking rule of one attention call.
struct AttentionShape {
    let batch: Int, heads: Int, queryLength: Int, keyLength: Int, headDim: Int, valueDim: Int
    let scale: Float
    let causal: Bool

    init(query: Tensor, key: Tensor, value: Tensor, causal: Bool, keyPadding: IntTensor?, scale: Float?) {
        precondition(query.rank == 4 && key.rank == 4 && value.rank == 4,
                     "attention needs (B, H, T, D) tensors, got q \(query.shape), k \(key.shape), v \(value.shape)")
        batch = query.size(0); heads = query.size(1); queryLength = query.size(2); headDim = query.size(3)
        keyLength = key.size(2); valueDim = value.size(3)
        precondition(key.shape == [batch, heads, keyLength, headDim] && value.size(0) == batch
                     && value.size(1) == heads && value.size(2) == keyLength,
                     "attention shapes disagree: q \(query.shape), k \(key.shape), v \(value.shape)")
        if let keyPadding {
            precondition(keyPadding.shape == [batch, keyLength],
                         "keyPadding \(keyPadding.shape) must be (B, Tk) = [\(batch), \(keyLength)]")
        }
        self.scale = scale ?? 1 / Float(headDim).squareRoot()
        self.causal = causal
    }

    /// Query row i may attend keys 0..<keyEnd(i) (before padding).
    @inline(__always) func keyEnd(query i: Int) -> Int {
        causal ? min(keyLength, max(0, i + keyLength - queryLength + 1)) : keyLength
    }
}

/// Block sizes of the fused kernels: a 32 × 64 score tile (8 KiB) stays in L1 beside its Q, K, V rows.
/// 32 query rows rather than 64 halve the masked corner of each diagonal tile that causal attention computes
/// and throws away (B=16, H=4, T=128, D=64 causal: 13% faster; bidirectional: no change).
enum AttentionBlock {
    static let queries = 32
    static let keys = 64
}

/// keyPadding (B, Tk) → additive bias (B, Tk): 0 for real keys, −∞ for padded ones.
func attentionKeyBias(_ keyPadding: IntTensor) -> [Float] {
    keyPadding.values.map { $0 != 0 ? -Float.infinity : 0 }
}

/// `body` with a pointer to `array`'s elements, or nil when there is no array (an empty one must not be passed).
@inline(__always)
func withOptionalPointer<Element, R>(_ array: [Element]?, _ body: (UnsafePointer<Element>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// scores (rows, cols; row stride `AttentionBlock.keys`) = scale · Q[i0 ..< i0+rows] · Kᵀ[:, j0 ..< j0+cols],
/// with masked entries (padded keys, causal future) and the padding up to a multiple of 8 columns set to −∞,
/// so that `attentionExp` over whole vectors yields exact zeros there.
/// keyT: (D, Tk), the head's keys transposed (row stride Tk).
@inline(__always)
func attentionScoreTile(q: UnsafePointer<Float>, keyT: UnsafePointer<Float>, keyBias: UnsafePointer<Float>?,
                        scores: UnsafeMutablePointer<Float>, i0: Int, rows: Int, j0: Int, cols: Int,
                        shape: AttentionShape) {
    let ld = AttentionBlock.keys, d = shape.headDim
    attentionTileProduct(m: rows, n: cols, k: d, alpha: shape.scale, a: q + i0 * d, aRow: d, aDepth: 1,
                         b: keyT + j0, ldb: shape.keyLength, c: scores, ldc: ld, accumulate: false)
    let width = FloatVector.scalarCount, paddedCols = (cols + width - 1) / width * width
    for r in 0..<rows {
        let s = scores + r * ld
        if let keyBias {
            let bias = keyBias + j0
            for c in 0..<cols { s[c] += bias[c] }
        }
        let visible = shape.causal ? min(cols, max(0, shape.keyEnd(query: i0 + r) - j0)) : cols
        for c in visible..<paddedCols { s[c] = -.infinity }
    }
}

/// Forward pass. q: (B, H, Tq, D), k: (B, H, Tk, D), v: (B, H, Tk, Dv), keyBias: (B, Tk) or nil
/// → out: (B, H, Tq, Dv), logSumExp: (B, H, Tq) (+∞ for rows that see no key).
///
/// One work item is one (batch, head); it transposes that head's keys once, then runs each block of query rows
/// over the key blocks it may see, keeping the running row max m and row sum ℓ of exp(s − m), and accumulates
/// the unnormalised output in `out` itself, rescaled by exp(m_old − m_new) whenever the max grows.
func attentionForward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                      keyBias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
                      logSumExp: UnsafeMutablePointer<Float>, shape: AttentionShape) {
    let tq = shape.queryLength, tk = shape.keyLength, d = shape.headDim, dv = shape.valueDim
    let blockRows = AttentionBlock.queries, blockCols = AttentionBlock.keys
    let queryBlocks = (tq + blockRows - 1) / blockRows
    parallelFor(shape.batch * shape.heads) { pairs in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * blockCols)
        let keyT = UnsafeMutablePointer<Float>.allocate(capacity: d * tk)
        let rowMax = UnsafeMutablePointer<Float>.allocate(capacity: blockRows)
        let rowSum = UnsafeMutablePointer<Float>.allocate(capacity: blockRows)
        defer { scores.deallocate(); keyT.deallocate(); rowMax.deallocate(); rowSum.deallocate() }
        for pair in pairs {
            let qHead = q + pair * tq * d, kHead = k + pair * tk * d, vHead = v + pair * tk * dv
            let bias = keyBias.map { $0 + (pair / shape.heads) * tk }
            attentionTranspose(kHead, rows: tk, cols: d, into: keyT, ld: tk)
            for block in 0..<queryBlocks {
                let i0 = block * blockRows, rows = min(blockRows, tq - i0)
                let outBlock = out + (pair * tq + i0) * dv
                outBlock.update(repeating: 0, count: rows * dv)
                rowMax.update(repeating: -.infinity, count: rows)
                rowSum.update(repeating: 0, count: rows)
                let keyEnd = shape.keyEnd(query: i0 + rows - 1)
                for j0 in stride(from: 0, to: keyEnd, by: blockCols) {
                    let cols = min(blockCols, keyEnd - j0)
                    attentionScoreTile(q: qHead, keyT: keyT, keyBias: bias, scores: scores,
                                       i0: i0, rows: rows, j0: j0, cols: cols, shape: shape)
                    for r in 0..<rows {
                        attentionOnlineSoftmaxRow(scores + r * blockCols, cols: cols, rowMax: &rowMax[r],
                                                  rowSum: &rowSum[r], out: outBlock + r * dv, dv: dv)
                    }
                    // out_blk += P · V_blk
                    attentionTileProduct(m: rows, n: dv, k: cols, alpha: 1, a: scores, aRow: blockCols, aDepth: 1,
                                         b: vHead + j0 * dv, ldb: dv, c: outBlock, ldc: dv, accumulate: true)
                }
                let lse = logSumExp + pair * tq + i0
                for r in 0..<rows {
                    let o = outBlock + r * dv
                    if rowSum[r] == 0 {
                        // Every key masked: output zeros; lse = +∞ makes the recomputed probabilities 0 in backward.
                        o.update(repeating: 0, count: dv)
                        lse[r] = .infinity
                    } else {
                        let inverse = 1 / rowSum[r]
                        for e in 0..<dv { o[e] *= inverse }
                        lse[r] = rowMax[r] + Foundation.log(rowSum[r])
                    }
                }
            }
        }
    }
}

/// One row of a score tile (cols entries, −∞ up to the next multiple of 8) → its unnormalised probabilities
/// exp(s − m_new) in place; updates the running max m and sum ℓ and rescales the row's output accumulator
/// `out` (dv entries) by exp(m_old − m_new).
@inline(__always)
func attentionOnlineSoftmaxRow(_ row: UnsafeMutablePointer<Float>, cols: Int, rowMax: inout Float, rowSum: inout Float,
                               out: UnsafeMutablePointer<Float>, dv: Int) {
    let width = FloatVector.scalarCount, s = UnsafeMutableRawPointer(row), lanes = (cols + width - 1) / width
    var lanesMax = FloatVector(repeating: -.infinity)
    for lane in 0..<lanes {
        // Compare-and-blend; the stdlib's pointwiseMax is a scalar loop over the lanes.
        let x = s.loadUnaligned(fromByteOffset: lane * width * 4, as: FloatVector.self)
        lanesMax.replace(with: x, where: x .> lanesMax)
    }
    let newMax = max(rowMax, lanesMax.max())
    if newMax == -.infinity {
        // Nothing visible to this row yet: the tile adds nothing.
        row.update(repeating: 0, count: cols)
        return
    }
    let shift = FloatVector(repeating: newMax)
    var lanesSum = FloatVector()
    for lane in 0..<lanes {
        let p = attentionExp(s.loadUnaligned(fromByteOffset: lane * width * 4, as: FloatVector.self) - shift)
        s.storeBytes(of: p, toByteOffset: lane * width * 4, as: FloatVector.self)
        lanesSum += p
    }
    let correction = Foundation.exp(rowMax - newMax)
    rowSum = rowSum * correction + lanesSum.sum()
    rowMax = newMax
    if correction != 1 {
        for e in 0..<dv { out[e] *= correction }
    }
}

/// Backward pass. dOut: (B, H, Tq, Dv) → accumulates dq: (B, H, Tq, D), dk: (B, H, Tk, D), dv: (B, H, Tk, Dv)
/// (each nil when that input needs no gradient).
///
/// Per tile, with P = exp(S − lse) recomputed: dV += Pᵀ dO, dP = dO Vᵀ, dS = P ∘ (dP − rowsum(dO ∘ O)),
/// dQ += scale · dS K, dK += scale · dSᵀ Q. One work item is a whole (batch, head), so the dK and dV rows
/// it accumulates belong to it alone.
func attentionBackward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                       keyBias: UnsafePointer<Float>?, out: UnsafePointer<Float>,
                       logSumExp: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                       dq: UnsafeMutablePointer<Float>?, dk: UnsafeMutablePointer<Float>?,
                       dv: UnsafeMutablePointer<Float>?, shape: AttentionShape) {
    let tq = shape.queryLength, tk = shape.keyLength, d = shape.headDim, dValue = shape.valueDim
    let blockRows = AttentionBlock.queries, blockCols = AttentionBlock.keys
    let queryBlocks = (tq + blockRows - 1) / blockRows
    let needsScoreGradient = dq != nil || dk != nil
    parallelFor(shape.batch * shape.heads) { pairs in
        let probs = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * blockCols)
        let dProbs = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * blockCols)
        let keyT = UnsafeMutablePointer<Float>.allocate(capacity: d * tk)
        let valueT = UnsafeMutablePointer<Float>.allocate(capacity: dValue * tk)
        let delta = UnsafeMutablePointer<Float>.allocate(capacity: blockRows)
        defer { probs.deallocate(); dProbs.deallocate(); keyT.deallocate(); valueT.deallocate(); delta.deallocate() }
        for pair in pairs {
            let qHead = q + pair * tq * d, kHead = k + pair * tk * d, vHead = v + pair * tk * dValue
            let bias = keyBias.map { $0 + (pair / shape.heads) * tk }
            attentionTranspose(kHead, rows: tk, cols: d, into: keyT, ld: tk)
            if needsScoreGradient { attentionTranspose(vHead, rows: tk, cols: dValue, into: valueT, ld: tk) }
            for block in 0..<queryBlocks {
                let i0 = block * blockRows, rows = min(blockRows, tq - i0)
                let dOutBlock = dOut + (pair * tq + i0) * dValue
                let outBlock = out + (pair * tq + i0) * dValue
                let lse = logSumExp + pair * tq + i0
                for r in 0..<rows {
                    let o = outBlock + r * dValue, g = dOutBlock + r * dValue
                    var dot: Float = 0
                    for e in 0..<dValue { dot += o[e] * g[e] }
                    delta[r] = dot
                }
                let keyEnd = shape.keyEnd(query: i0 + rows - 1)
                for j0 in stride(from: 0, to: keyEnd, by: blockCols) {
                    let width = FloatVector.scalarCount
                    let cols = min(blockCols, keyEnd - j0), lanes = (cols + width - 1) / width
                    attentionScoreTile(q: qHead, keyT: keyT, keyBias: bias, scores: probs,
                                       i0: i0, rows: rows, j0: j0, cols: cols, shape: shape)
                    for r in 0..<rows {
                        let p = UnsafeMutableRawPointer(probs + r * blockCols)
                        let shift = FloatVector(repeating: lse[r])
                        for lane in 0..<lanes {
                            let s = p.loadUnaligned(fromByteOffset: lane * width * 4, as: FloatVector.self)
                            p.storeBytes(of: attentionExp(s - shift), toByteOffset: lane * width * 4, as: FloatVector.self)
                        }
                    }
                    if let dv {
                        // dV_blk += Pᵀ dO_blk
                        attentionTileProduct(m: cols, n: dValue, k: rows, alpha: 1, a: probs, aRow: 1, aDepth: blockCols,
                                             b: dOutBlock, ldb: dValue, c: dv + (pair * tk + j0) * dValue, ldc: dValue,
                                             accumulate: true)
                    }
                    guard needsScoreGradient else { continue }
                    // dP = dO_blk V_blkᵀ, then dS = P ∘ (dP − δ) in place.
                    attentionTileProduct(m: rows, n: cols, k: dValue, alpha: 1, a: dOutBlock, aRow: dValue, aDepth: 1,
                                         b: valueT + j0, ldb: tk, c: dProbs, ldc: blockCols, accumulate: false)
                    for r in 0..<rows {
                        let p = probs + r * blockCols, ds = dProbs + r * blockCols, rowDelta = delta[r]
                        for c in 0..<cols { ds[c] = p[c] * (ds[c] - rowDelta) }
                    }
                    if let dq {
                        // dQ_blk += scale · dS K_blk
                        attentionTileProduct(m: rows, n: d, k: cols, alpha: shape.scale, a: dProbs, aRow: blockCols,
                                             aDepth: 1, b: kHead + j0 * d, ldb: d, c: dq + (pair * tq + i0) * d, ldc: d,
                                             accumulate: true)
                    }
                    if let dk {
                        // dK_blk += scale · dSᵀ Q_blk
                        attentionTileProduct(m: cols, n: d, k: rows, alpha: shape.scale, a: dProbs, aRow: 1,
                                             aDepth: blockCols, b: qHead + i0 * d, ldb: d,
                                             c: dk + (pair * tk + j0) * d, ldc: d, accumulate: true)
                    }
                }
            }
        }
    }
}

/// The pre-softmax attention scores that the fused kernel never materialises, for attention distillation
/// (MiniLM, TinyBERT): scale · Q Kᵀ, with −∞ where `causal` hides a key (j > i).
/// query, key: (B, H, T, D) → (B, H, T, T). Gradients reach query and key through the product; the masked
/// entries are constants (−∞), so a softmax over the last axis gives them probability 0 and gradient 0.
public func attentionScores(query: Tensor, key: Tensor, causal: Bool, scale: Float? = nil) -> Tensor {
    precondition(query.rank == 4 && key.shape == query.shape, "attentionScores: query \(query.shape) and key \(key.shape) must be equal (B, H, T, D)")
    let scores = matmul(query, key, transposeB: true) * (scale ?? 1 / Float(query.size(-1)).squareRoot())
    guard causal else { return scores }
    let length = query.size(2)
    var mask = [Float](repeating: 0, count: length * length)
    for i in 0..<length { for j in (i + 1)..<max(i + 1, length) { mask[i * length + j] = -.infinity } }
    return scores + Tensor(mask, shape: [length, length])                          // + (T, T), broadcast
}
