import Foundation

/// Normalisation over the last axis: layer norm (GPT-2, BERT) and RMS norm (Llama).
///
/// Leading axes are flattened into rows: x (..., C) is read as (N, C). Each forward saves per-row
/// statistics, (N) floats, and its backward recomputes the normalised values from them (as llm.c does)
/// instead of keeping an (N, C) copy.

/// Layer norm (Ba et al. 2016) as torch.nn.functional.layer_norm over the last axis:
/// y = (x − mean) / sqrt(var + eps) · weight + bias, var biased. x: (..., C) → y: same shape.
/// weight, bias: (C); nil means 1 and 0.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
    let c = x.rank == 0 ? 1 : x.size(-1)
    let n = c == 0 ? 0 : x.count / c
    for parameter in [weight, bias].compactMap({ $0 }) {
        precondition(parameter.shape == [c], "layerNorm: parameter \(parameter.shape) does not match input \(x.shape)")
    }
    let out = Tensor(uninitialized: x.shape)
    let mean = Tensor(uninitialized: [n]), rstd = Tensor(uninitialized: [n])
    layerNormForward(x: x.data, weight: weight?.data, bias: bias?.data, y: out.data,
                     mean: mean.data, rstd: rstd.data, n: n, c: c, eps: eps)
    guard Autograd.needsGradient([x] + [weight, bias].compactMap { $0 }) else { return out }
    Autograd.record(out) {
        layerNormBackward(dy: out.grad!.data, x: x.data, weight: weight?.data, mean: mean.data, rstd: rstd.data,
                          dx: x.requiresGrad ? x.gradData() : nil,
                          dweight: weight.flatMap { $0.requiresGrad ? $0.gradData() : nil },
                          dbias: bias.flatMap { $0.requiresGrad ? $0.gradData() : nil }, n: n, c: c)
    }
    return out
}

/// RMS norm (Zhang & Sennrich 2019) as in Llama: y = x / sqrt(mean(x²) + eps) · weight over the last axis.
/// x: (..., C) → y: same shape; weight: (C), nil means 1.
public func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float = 1e-6) -> Tensor {
    let c = x.rank == 0 ? 1 : x.size(-1)
    let n = c == 0 ? 0 : x.count / c
    if let weight {
        precondition(weight.shape == [c], "rmsNorm: weight \(weight.shape) does not match input \(x.shape)")
    }
    let out = Tensor(uninitialized: x.shape)
    let rstd = Tensor(uninitialized: [n])
    rmsNormForward(x: x.data, weight: weight?.data, y: out.data, rstd: rstd.data, n: n, c: c, eps: eps)
    guard Autograd.needsGradient([x] + [weight].compactMap { $0 }) else { return out }
    Autograd.record(out) {
        rmsNormBackward(dy: out.grad!.data, x: x.data, weight: weight?.data, rstd: rstd.data,
                        dx: x.requiresGrad ? x.gradData() : nil,
                        dweight: weight.flatMap { $0.requiresGrad ? $0.gradData() : nil }, n: n, c: c)
    }
    return out
}

/// x: (N, C) → y: (N, C); saves mean, rstd: (N) for the backward pass. weight, bias: (C) or nil.
/// The statistics are summed in Double, variance in a second pass over the row: a one-pass float
/// E[x²] − E[x]² cancels catastrophically when |mean| ≫ std, which BERT's eps = 1e-12 would expose.
func layerNormForward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                      y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                      rstd: UnsafeMutablePointer<Float>, n: Int, c: Int, eps: Float) {
    parallelFor(n, grain: max(1, (1 << 14) / max(c, 1))) { rows in
        for row in rows {
            let xs = x + row * c, ys = y + row * c
            let m = doubleSumOfPowers(xs, c, center: 0, squared: false) / Double(c)
            let variance = doubleSumOfPowers(xs, c, center: m, squared: true) / Double(c)
            let r = 1 / (variance + Double(eps)).squareRoot()
            let mf = Float(m), rf = Float(r)
            mean[row] = mf
            rstd[row] = rf
            for i in 0..<c {
                var value = (xs[i] - mf) * rf
                if let weight { value *= weight[i] }
                if let bias { value += bias[i] }
                ys[i] = value
            }
        }
    }
}

/// dy: (N, C) → dx: (N, C) accumulated; dweight, dbias: (C) accumulated. Each output may be nil (not needed).
/// With n̂ = (x − mean)·rstd and g = dy·weight: dx = rstd · (g − mean(g) − n̂ · mean(g·n̂)).
func layerNormBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>?,
                       mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                       dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?, n: Int, c: Int) {
    // Per-block partial sums of dweight (first C) and dbias (next C).
    let partials = RowBlockPartials(rows: n, width: 2 * c, needed: dweight != nil || dbias != nil)
    partials.forEachBlock(rowLength: c) { rows, partial in
        for row in rows {
            let xs = x + row * c, gs = dy + row * c
            let m = mean[row], r = rstd[row]
            var gMean: Float = 0, gNormMean: Float = 0
            for i in 0..<c {
                let normalized = (xs[i] - m) * r
                let g = weighted(gs[i], weight, i)
                gMean += g
                gNormMean += g * normalized
            }
            gMean /= Float(c)
            gNormMean /= Float(c)
            if let partial {
                let pw = partial, pb = partial + c
                for i in 0..<c {
                    pw[i] += (xs[i] - m) * r * gs[i]
                    pb[i] += gs[i]
                }
            }
            if let dx {
                let dxs = dx + row * c
                for i in 0..<c {
                    let normalized = (xs[i] - m) * r
                    let g = weighted(gs[i], weight, i)
                    dxs[i] += (g - gMean - normalized * gNormMean) * r
                }
            }
        }
    }
    if let dweight { partials.sum(columns: 0..<c, into: dweight) }
    if let dbias { partials.sum(columns: c..<(2 * c), into: dbias) }
}

/// x: (N, C) → y: (N, C); saves rstd: (N) = 1 / sqrt(mean(x²) + eps), mean of squares summed in Double.
func rmsNormForward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                    rstd: UnsafeMutablePointer<Float>, n: Int, c: Int, eps: Float) {
    parallelFor(n, grain: max(1, (1 << 14) / max(c, 1))) { rows in
        for row in rows {
            let xs = x + row * c, ys = y + row * c
            let meanSquare = doubleSumOfPowers(xs, c, center: 0, squared: true) / Double(c)
            let r = Float(1 / (meanSquare + Double(eps)).squareRoot())
            rstd[row] = r
            if let weight {
                for i in 0..<c { ys[i] = xs[i] * r * weight[i] }
            } else {
                for i in 0..<c { ys[i] = xs[i] * r }
            }
        }
    }
}

/// dy: (N, C) → dx: (N, C) accumulated; dweight: (C) accumulated; either may be nil.
/// With n̂ = x·rstd and g = dy·weight: dx = rstd · (g − n̂ · mean(g·n̂)).
func rmsNormBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>?,
                     rstd: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                     dweight: UnsafeMutablePointer<Float>?, n: Int, c: Int) {
    let partials = RowBlockPartials(rows: n, width: c, needed: dweight != nil)
    partials.forEachBlock(rowLength: c) { rows, partial in
        for row in rows {
            let xs = x + row * c, gs = dy + row * c
            let r = rstd[row]
            if let partial {
                for i in 0..<c { partial[i] += xs[i] * r * gs[i] }
            }
            guard let dx else { continue }
            var gNormMean: Float = 0
            for i in 0..<c {
                let g = weighted(gs[i], weight, i)
                gNormMean += g * xs[i] * r
            }
            gNormMean /= Float(c)
            let dxs = dx + row * c
            for i in 0..<c {
                let g = weighted(gs[i], weight, i)
                dxs[i] += (g - xs[i] * r * gNormMean) * r
            }
        }
    }
    if let dweight { partials.sum(columns: 0..<c, into: dweight) }
}

/// Σ (x − center) or, `squared`, Σ (x − center)² over `count` floats, in Double. Four independent partial
/// sums: one chain waits on every add's latency (that made the whole forward 2× slower at (8192, 768)).
@inline(__always)
private func doubleSumOfPowers(_ x: UnsafePointer<Float>, _ count: Int, center: Double, squared: Bool) -> Double {
    @inline(__always) func term(_ i: Int) -> Double {
        let d = Double(x[i]) - center
        return squared ? d * d : d
    }
    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    var i = 0
    while i + 4 <= count {
        s0 += term(i)
        s1 += term(i + 1)
        s2 += term(i + 2)
        s3 += term(i + 3)
        i += 4
    }
    while i < count {
        s0 += term(i)
        i += 1
    }
    return (s0 + s1) + (s2 + s3)
}

/// dy·weight[i], or dy when there is no weight.
@inline(__always)
private func weighted(_ dy: Float, _ weight: UnsafePointer<Float>?, _ i: Int) -> Float {
    if let weight { return dy * weight[i] }
    return dy
}

/// Parallel row loop for backward passes that also sum over rows (dweight, dbias).
///
/// Rows are split into at most `maxBlocks` contiguous blocks; each block accumulates into its own zeroed
/// scratch row, and the scratch rows are then added in block order. The split depends only on the row
/// count, never on the thread count, so parameter gradients are bit-identical on any machine.
private struct RowBlockPartials {
    static let maxBlocks = 64
    let rows: Int
    let blocks: Int
    let width: Int
    /// (blocks, width), or nil when no row sum is wanted.
    let scratch: Tensor?

    init(rows: Int, width: Int, needed: Bool) {
        self.rows = rows
        self.blocks = min(rows, RowBlockPartials.maxBlocks)
        self.width = width
        scratch = needed && blocks > 0 ? Tensor(zeros: [blocks, width]) : nil
    }

    /// Runs `body(rows, partial)` for each block, blocks spread over threads; `partial` is the block's
    /// scratch row (nil when not needed).
    func forEachBlock(rowLength: Int, _ body: (Range<Int>, UnsafeMutablePointer<Float>?) -> Void) {
        guard blocks > 0 else { return }
        let base = scratch?.data
        let rows = self.rows, blocks = self.blocks, width = self.width
        // Enough blocks per thread for ≥ 16K elements of work.
        let grain = max(1, (1 << 14) * blocks / max(rows * rowLength, 1))
        parallelFor(blocks, grain: grain) { range in
            for block in range {
                body(rows * block / blocks ..< rows * (block + 1) / blocks, base.map { $0 + block * width })
            }
        }
    }

    /// destination[j] += Σ_blocks scratch[block, columns.lowerBound + j], summed in block order.
    func sum(columns: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        guard let scratch else { return }
        for block in 0..<blocks {
            let source = scratch.data + block * width + columns.lowerBound
            for j in 0..<columns.count { destination[j] += source[j] }
        }
    }
}
