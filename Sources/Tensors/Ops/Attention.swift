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

/// Block sizes of the fused kernels: a 64 × 64 score tile (16 KiB) stays in L1/L2 beside its Q, K, V rows.
enum AttentionBlock {
    static let queries = 64
    static let keys = 64
}

/// keyPadding (B, Tk) → additive bias (B, Tk): 0 for real keys, −∞ for padded ones.
func attentionKeyBias(_ keyPadding: IntTensor) -> [Float] {
    keyPadding.values.map { $0 != 0 ? -Float.infinity : 0 }
}

@inline(__always)
func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// scores (rows, cols; row stride `AttentionBlock.keys`) = scale · Q[i0 ..< i0+rows] · K[j0 ..< j0+cols]ᵀ,
/// with masked entries (padded keys, causal future) set to −∞.
@inline(__always)
func attentionScoreTile(q: UnsafePointer<Float>, k: UnsafePointer<Float>, keyBias: UnsafePointer<Float>?,
                        scores: UnsafeMutablePointer<Float>, i0: Int, rows: Int, j0: Int, cols: Int,
                        shape: AttentionShape) {
    let ld = AttentionBlock.keys, d = shape.headDim
    tileGemm(transA: false, transB: true, m: rows, n: cols, k: d, alpha: shape.scale,
             a: q + i0 * d, lda: d, b: k + j0 * d, ldb: d, beta: 0, c: scores, ldc: ld)
    if let keyBias {
        let bias = keyBias + j0
        for r in 0..<rows {
            let s = scores + r * ld
            for c in 0..<cols { s[c] += bias[c] }
        }
    }
    if shape.causal {
        for r in 0..<rows {
            let visible = max(0, shape.keyEnd(query: i0 + r) - j0)
            if visible >= cols { continue }
            let s = scores + r * ld
            for c in visible..<cols { s[c] = -.infinity }
        }
    }
}

/// Forward pass. q: (B, H, Tq, D), k: (B, H, Tk, D), v: (B, H, Tk, Dv), keyBias: (B, Tk) or nil
/// → out: (B, H, Tq, Dv), logSumExp: (B, H, Tq) (+∞ for rows that see no key).
///
/// One work item is one block of query rows of one (batch, head): it streams over the key blocks it may see,
/// keeping the running row max m and row sum ℓ of exp(s − m), and accumulates the unnormalised output in
/// `out` itself, rescaled by exp(m_old − m_new) whenever the max grows.
func attentionForward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                      keyBias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
                      logSumExp: UnsafeMutablePointer<Float>, shape: AttentionShape) {
    let tq = shape.queryLength, tk = shape.keyLength, d = shape.headDim, dv = shape.valueDim
    let blockRows = AttentionBlock.queries, blockCols = AttentionBlock.keys
    let queryBlocks = (tq + blockRows - 1) / blockRows
    parallelFor(shape.batch * shape.heads * queryBlocks) { items in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * blockCols)
        let rowMax = UnsafeMutablePointer<Float>.allocate(capacity: blockRows)
        let rowSum = UnsafeMutablePointer<Float>.allocate(capacity: blockRows)
        defer { scores.deallocate(); rowMax.deallocate(); rowSum.deallocate() }
        for item in items {
            let pair = item / queryBlocks
            let i0 = (item % queryBlocks) * blockRows, rows = min(blockRows, tq - i0)
            let qHead = q + pair * tq * d, kHead = k + pair * tk * d, vHead = v + pair * tk * dv
            let outBlock = out + (pair * tq + i0) * dv
            let bias = keyBias.map { $0 + (pair / shape.heads) * tk }
            outBlock.update(repeating: 0, count: rows * dv)
            rowMax.update(repeating: -.infinity, count: rows)
            rowSum.update(repeating: 0, count: rows)
            let keyEnd = shape.keyEnd(query: i0 + rows - 1)
            for j0 in stride(from: 0, to: keyEnd, by: blockCols) {
                let cols = min(blockCols, keyEnd - j0)
                attentionScoreTile(q: qHead, k: kHead, keyBias: bias, scores: scores,
                                   i0: i0, rows: rows, j0: j0, cols: cols, shape: shape)
                for r in 0..<rows {
                    let s = scores + r * blockCols
                    var newMax = rowMax[r]
                    for c in 0..<cols { newMax = max(newMax, s[c]) }
                    if newMax == -.infinity {
                        // Nothing visible to this row yet: the tile adds nothing.
                        s.update(repeating: 0, count: cols)
                        continue
                    }
                    var sum: Float = 0
                    for c in 0..<cols {
                        let p = Foundation.exp(s[c] - newMax)
                        s[c] = p
                        sum += p
                    }
                    let correction = Foundation.exp(rowMax[r] - newMax)
                    rowSum[r] = rowSum[r] * correction + sum
                    rowMax[r] = newMax
                    if correction != 1 {
                        let o = outBlock + r * dv
                        for e in 0..<dv { o[e] *= correction }
                    }
                }
                // out_blk += P · V_blk
                tileGemm(transA: false, transB: false, m: rows, n: dv, k: cols, alpha: 1,
                         a: scores, lda: blockCols, b: vHead + j0 * dv, ldb: dv, beta: 1, c: outBlock, ldc: dv)
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
        let delta = UnsafeMutablePointer<Float>.allocate(capacity: blockRows)
        defer { probs.deallocate(); dProbs.deallocate(); delta.deallocate() }
        for pair in pairs {
            let qHead = q + pair * tq * d, kHead = k + pair * tk * d, vHead = v + pair * tk * dValue
            let bias = keyBias.map { $0 + (pair / shape.heads) * tk }
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
                    let cols = min(blockCols, keyEnd - j0)
                    attentionScoreTile(q: qHead, k: kHead, keyBias: bias, scores: probs,
                                       i0: i0, rows: rows, j0: j0, cols: cols, shape: shape)
                    for r in 0..<rows {
                        let p = probs + r * blockCols, rowLSE = lse[r]
                        for c in 0..<cols { p[c] = Foundation.exp(p[c] - rowLSE) }
                    }
                    if let dv {
                        // dV_blk += Pᵀ dO_blk
                        tileGemm(transA: true, transB: false, m: cols, n: dValue, k: rows, alpha: 1,
                                 a: probs, lda: blockCols, b: dOutBlock, ldb: dValue,
                                 beta: 1, c: dv + (pair * tk + j0) * dValue, ldc: dValue)
                    }
                    guard needsScoreGradient else { continue }
                    // dP = dO_blk V_blkᵀ, then dS = P ∘ (dP − δ) in place.
                    tileGemm(transA: false, transB: true, m: rows, n: cols, k: dValue, alpha: 1,
                             a: dOutBlock, lda: dValue, b: vHead + j0 * dValue, ldb: dValue,
                             beta: 0, c: dProbs, ldc: blockCols)
                    for r in 0..<rows {
                        let p = probs + r * blockCols, ds = dProbs + r * blockCols, rowDelta = delta[r]
                        for c in 0..<cols { ds[c] = p[c] * (ds[c] - rowDelta) }
                    }
                    if let dq {
                        // dQ_blk += scale · dS K_blk
                        tileGemm(transA: false, transB: false, m: rows, n: d, k: cols, alpha: shape.scale,
                                 a: dProbs, lda: blockCols, b: kHead + j0 * d, ldb: d,
                                 beta: 1, c: dq + (pair * tq + i0) * d, ldc: d)
                    }
                    if let dk {
                        // dK_blk += scale · dSᵀ Q_blk
                        tileGemm(transA: true, transB: false, m: cols, n: d, k: rows, alpha: shape.scale,
                                 a: dProbs, lda: blockCols, b: qHead + i0 * d, ldb: d,
                                 beta: 1, c: dk + (pair * tk + j0) * d, ldc: d)
                    }
                }
            }
        }
    }
}

// MEASURE: switch between the GEMM backend and hand-written loops for the tile products.
nonisolated(unsafe) public var attentionTilesUseGEMM = true

@inline(__always)
func tileGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if attentionTilesUseGEMM {
        Matmul.backend.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                            a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
    switch (transA, transB) {
    case (false, false):
        // C[i, :] += α A[i, l] B[l, :]
        for i in 0..<m {
            let ci = c + i * ldc
            for l in 0..<k {
                let x = alpha * a[i * lda + l], bl = b + l * ldb
                for j in 0..<n { ci[j] += x * bl[j] }
            }
        }
    case (true, false):
        // C[i, :] += α A[l, i] B[l, :]
        for l in 0..<k {
            let al = a + l * lda, bl = b + l * ldb
            for i in 0..<m {
                let x = alpha * al[i], ci = c + i * ldc
                for j in 0..<n { ci[j] += x * bl[j] }
            }
        }
    case (false, true):
        // C[i, j] += α A[i, :] · B[j, :] with eight partial sums (SIMD8).
        for i in 0..<m {
            let ai = a + i * lda
            for j in 0..<n {
                let bj = b + j * ldb
                var acc = SIMD8<Float>()
                var l = 0
                while l + 8 <= k {
                    let x = UnsafeRawPointer(ai + l).loadUnaligned(as: SIMD8<Float>.self)
                    let y = UnsafeRawPointer(bj + l).loadUnaligned(as: SIMD8<Float>.self)
                    acc += x * y
                    l += 8
                }
                var dot = acc.sum()
                while l < k { dot += ai[l] * bj[l]; l += 1 }
                c[i * ldc + j] += alpha * dot
            }
        }
    case (true, true):
        preconditionFailure("unused")
    }
}

/// Slow reference: materialises the (Tq, Tk) scores and softmax in Double, with the textbook backward
/// (dS = P ∘ (dP − rowsum(P ∘ dP))). Same arguments and masking rules as `scaledDotProductAttention`;
/// used by the tests to cross-check the fused kernels (public because release-built tests cannot use @testable).
public func attentionReference(query: Tensor, key: Tensor, value: Tensor, causal: Bool,
                        keyPadding: IntTensor? = nil, scale: Float? = nil) -> Tensor {
    let shape = AttentionShape(query: query, key: key, value: value, causal: causal, keyPadding: keyPadding,
                               scale: scale)
    let tq = shape.queryLength, tk = shape.keyLength, d = shape.headDim, dv = shape.valueDim
    let scale = Double(shape.scale)
    let out = Tensor(uninitialized: [shape.batch, shape.heads, tq, dv])
    // probs[pair][i][j]; zero where masked.
    var probs = [Double](repeating: 0, count: shape.batch * shape.heads * tq * tk)
    let q = query.data, k = key.data, v = value.data
    for pair in 0..<(shape.batch * shape.heads) {
        let b = pair / shape.heads
        for i in 0..<tq {
            var logits = [Double](repeating: -.infinity, count: tk)
            for j in 0..<tk {
                let padded = keyPadding.map { $0.values[b * tk + j] != 0 } ?? false
                if padded || j >= shape.keyEnd(query: i) { continue }
                var dot = 0.0
                for e in 0..<d { dot += Double(q[(pair * tq + i) * d + e]) * Double(k[(pair * tk + j) * d + e]) }
                logits[j] = dot * scale
            }
            let maximum = logits.max()!
            let row = (pair * tq + i) * tk
            if maximum > -.infinity {
                let weights = logits.map { Foundation.exp($0 - maximum) }
                let total = weights.reduce(0, +)
                for j in 0..<tk { probs[row + j] = weights[j] / total }
            }
            for e in 0..<dv {
                var sum = 0.0
                for j in 0..<tk { sum += probs[row + j] * Double(v[(pair * tk + j) * dv + e]) }
                out.data[(pair * tq + i) * dv + e] = Float(sum)
            }
        }
    }
    guard Autograd.needsGradient(query, key, value) else { return out }
    Autograd.record(out) {
        let g = out.grad!.data
        for pair in 0..<(shape.batch * shape.heads) {
            for i in 0..<tq {
                let row = (pair * tq + i) * tk
                var dP = [Double](repeating: 0, count: tk)
                for j in 0..<tk {
                    for e in 0..<dv { dP[j] += Double(g[(pair * tq + i) * dv + e]) * Double(v[(pair * tk + j) * dv + e]) }
                }
                var rowDot = 0.0
                for j in 0..<tk { rowDot += probs[row + j] * dP[j] }
                for j in 0..<tk {
                    let p = probs[row + j]
                    if value.requiresGrad {
                        let dV = value.gradData()
                        for e in 0..<dv { dV[(pair * tk + j) * dv + e] += Float(p * Double(g[(pair * tq + i) * dv + e])) }
                    }
                    let dS = p * (dP[j] - rowDot) * scale
                    if query.requiresGrad {
                        let dQ = query.gradData()
                        for e in 0..<d { dQ[(pair * tq + i) * d + e] += Float(dS * Double(k[(pair * tk + j) * d + e])) }
                    }
                    if key.requiresGrad {
                        let dK = key.gradData()
                        for e in 0..<d { dK[(pair * tk + j) * d + e] += Float(dS * Double(q[(pair * tq + i) * d + e])) }
                    }
                }
            }
        }
    }
    return out
}
