import Foundation

/// Softmax and log-softmax along one axis, with the row maximum subtracted before `exp` so large logits
/// cannot overflow.
///
/// The tensor is read as (outer, n, inner) around the axis: every line of n elements, `inner` apart, is
/// normalised on its own. The last axis (inner = 1, contiguous lines) is the fast path.

/// softmax(x)ⱼ = exp(xⱼ − max x) / Σₖ exp(xₖ − max x) along `axis`. x: (..., n, ...) → y: same shape.
public func softmax(_ x: Tensor, axis: Int = -1) -> Tensor {
    let (outer, n, inner) = softmaxLayout(x, axis: axis)
    let out = Tensor(uninitialized: x.shape)
    softmaxForward(x: x.data, y: out.data, outer: outer, n: n, inner: inner)
    guard Autograd.needsGradient(x) else { return out }
    Autograd.record(out) {
        softmaxBackward(y: out.data, dy: out.grad!.data, dx: x.gradData(), outer: outer, n: n, inner: inner)
    }
    return out
}

/// log softmax(x)ⱼ = xⱼ − max x − log Σₖ exp(xₖ − max x) along `axis`. x: (..., n, ...) → y: same shape.
public func logSoftmax(_ x: Tensor, axis: Int = -1) -> Tensor {
    let (outer, n, inner) = softmaxLayout(x, axis: axis)
    let out = Tensor(uninitialized: x.shape)
    logSoftmaxForward(x: x.data, y: out.data, outer: outer, n: n, inner: inner)
    guard Autograd.needsGradient(x) else { return out }
    Autograd.record(out) {
        logSoftmaxBackward(y: out.data, dy: out.grad!.data, dx: x.gradData(), outer: outer, n: n, inner: inner)
    }
    return out
}

/// (outer, n, inner): the sizes before, at and after `axis`. A scalar is one line of one element.
private func softmaxLayout(_ x: Tensor, axis: Int) -> (outer: Int, n: Int, inner: Int) {
    guard x.rank > 0 else { return (1, 1, 1) }
    let resolved = x.normalizedAxis(axis)
    return (x.shape[..<resolved].reduce(1, *), x.shape[resolved], x.shape[(resolved + 1)...].reduce(1, *))
}

/// Calls `body(start, stride)` for every line of an (outer, n, inner) tensor, lines split over threads.
/// Inlined, so the contiguous branch hands the line kernels a literal stride of 1.
@inline(__always)
private func forEachLine(outer: Int, n: Int, inner: Int, _ body: (_ start: Int, _ stride: Int) -> Void) {
    let lines = outer * inner
    parallelFor(lines, grain: max(1, (1 << 14) / max(n, 1))) { range in
        if inner == 1 {
            for line in range { body(line * n, 1) }
        } else {
            for line in range { body((line / inner) * n * inner + line % inner, inner) }
        }
    }
}

/// x: (outer, n, inner) → y: (outer, n, inner), softmax over n.
func softmaxForward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, outer: Int, n: Int, inner: Int) {
    forEachLine(outer: outer, n: n, inner: inner) { start, stride in
        let xs = x + start, ys = y + start
        var maximum = -Float.infinity
        for j in 0..<n { maximum = max(maximum, xs[j * stride]) }
        var sum: Float = 0
        for j in 0..<n {
            let e = Foundation.exp(xs[j * stride] - maximum)
            ys[j * stride] = e
            sum += e
        }
        let inverse = 1 / sum
        for j in 0..<n { ys[j * stride] *= inverse }
    }
}

/// y, dy: (outer, n, inner) → dx += y ⊙ (dy − Σ dy·y), sums over n.
func softmaxBackward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                     outer: Int, n: Int, inner: Int) {
    forEachLine(outer: outer, n: n, inner: inner) { start, stride in
        let ys = y + start, gs = dy + start, dxs = dx + start
        var dot: Float = 0
        for j in 0..<n { dot += gs[j * stride] * ys[j * stride] }
        for j in 0..<n { dxs[j * stride] += ys[j * stride] * (gs[j * stride] - dot) }
    }
}

/// x: (outer, n, inner) → y: (outer, n, inner), log-softmax over n.
func logSoftmaxForward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, outer: Int, n: Int, inner: Int) {
    forEachLine(outer: outer, n: n, inner: inner) { start, stride in
        let xs = x + start, ys = y + start
        var maximum = -Float.infinity
        for j in 0..<n { maximum = max(maximum, xs[j * stride]) }
        var sum: Float = 0
        for j in 0..<n { sum += Foundation.exp(xs[j * stride] - maximum) }
        let logNormalizer = maximum + Foundation.log(sum)
        for j in 0..<n { ys[j * stride] = xs[j * stride] - logNormalizer }
    }
}

/// y, dy: (outer, n, inner) → dx += dy − exp(y) · Σ dy, sums over n.
func logSoftmaxBackward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                        outer: Int, n: Int, inner: Int) {
    forEachLine(outer: outer, n: n, inner: inner) { start, stride in
        let ys = y + start, gs = dy + start, dxs = dx + start
        var total: Float = 0
        for j in 0..<n { total += gs[j * stride] }
        for j in 0..<n { dxs[j * stride] += gs[j * stride] - Foundation.exp(ys[j * stride]) * total }
    }
}
