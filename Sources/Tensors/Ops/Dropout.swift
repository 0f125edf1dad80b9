/// Inverted dropout (Srivastava et al. 2014): each element is zeroed with probability p and the kept ones are
/// scaled by 1/(1 − p), so the expected value is unchanged and evaluation needs no rescaling.
/// x: (...) → y: same shape. p == 0 returns x itself; p == 1 zeroes everything.
///
/// The mask is drawn from `generator` one element at a time, in index order, on the calling thread, so the
/// result depends only on the generator's state, never on the thread count. The backward pass multiplies by
/// the same mask.
public func dropout(_ x: Tensor, p: Float, generator: inout RandomGenerator) -> Tensor {
    precondition(p >= 0 && p <= 1, "dropout: probability \(p) outside [0, 1]")
    if p == 0 { return x }
    let out = Tensor(uninitialized: x.shape)
    // Each element's factor, 0 or 1/(1 − p), kept for the backward pass.
    let mask = Tensor(uninitialized: x.shape)
    dropoutForward(x: x.data, residual: nil, y: out.data, mask: mask.data, count: x.count, p: p, generator: &generator)
    guard Autograd.needsGradient(x) else { return out }
    Autograd.record(out) {
        dropoutBackward(dy: out.grad!.data, mask: mask.data, into: x)
    }
    return out
}

/// Dropout drawing its mask from the engine's default generator, `Random.generator`.
public func dropout(_ x: Tensor, p: Float) -> Tensor {
    dropout(x, p: p, generator: &Random.generator)
}

/// residual + dropout(x) in one pass each way: the same mask drawn the same way as `dropout`, so the same values
/// bit for bit as the two ops, without the dropped tensor in between. residual, x: same shape → same shape.
public func addDropout(_ residual: Tensor, _ x: Tensor, p: Float, generator: inout RandomGenerator) -> Tensor {
    precondition(residual.shape == x.shape, "addDropout: residual \(residual.shape) and x \(x.shape) differ")
    precondition(p >= 0 && p <= 1, "addDropout: probability \(p) outside [0, 1]")
    if p == 0 { return residual + x }
    let out = Tensor(uninitialized: x.shape)
    let mask = Tensor(uninitialized: x.shape)
    dropoutForward(x: x.data, residual: residual.data, y: out.data, mask: mask.data, count: x.count, p: p,
                   generator: &generator)
    guard Autograd.needsGradient(residual, x) else { return out }
    Autograd.record(out) {
        let g = out.grad!.data
        if residual.requiresGrad { accumulateGradient(g, into: residual) }
        if x.requiresGrad { dropoutBackward(dy: g, mask: mask.data, into: x) }
    }
    return out
}

/// x: (count) → y: (count) = residual + x · mask (no residual: x · mask), mask: (count) ∈ {0, 1/(1 − p)}; one
/// uniform draw per element, in order.
func dropoutForward(x: UnsafePointer<Float>, residual: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                    mask: UnsafeMutablePointer<Float>, count: Int, p: Float, generator: inout RandomGenerator) {
    let scale: Float = p < 1 ? 1 / (1 - p) : 0
    for i in 0..<count {
        let factor: Float = generator.nextFloat() < p ? 0 : scale
        mask[i] = factor
        y[i] = residual.map { $0[i] + x[i] * factor } ?? x[i] * factor
    }
}

/// dy, mask: (count) → x's gradient += dy · mask (stored when it has none yet).
func dropoutBackward(dy: UnsafePointer<Float>, mask: UnsafePointer<Float>, into x: Tensor) {
    let (dx, overwrite) = x.gradDataForWriting()
    parallelFor(x.count, grain: 1 << 15) { range in
        if overwrite { for i in range { dx[i] = dy[i] * mask[i] } } else { for i in range { dx[i] += dy[i] * mask[i] } }
    }
}
