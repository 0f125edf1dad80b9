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
    dropoutForward(x: x.data, y: out.data, mask: mask.data, count: x.count, p: p, generator: &generator)
    guard Autograd.needsGradient(x) else { return out }
    Autograd.record(out) {
        dropoutBackward(dy: out.grad!.data, mask: mask.data, dx: x.gradData(), count: x.count)
    }
    return out
}

/// Dropout drawing its mask from the engine's default generator, `Random.generator`.
public func dropout(_ x: Tensor, p: Float) -> Tensor {
    dropout(x, p: p, generator: &Random.generator)
}

/// x: (count) → y: (count), mask: (count) ∈ {0, 1/(1 − p)}; one uniform draw per element, in order.
func dropoutForward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>,
                    count: Int, p: Float, generator: inout RandomGenerator) {
    let scale: Float = p < 1 ? 1 / (1 - p) : 0
    for i in 0..<count {
        let factor: Float = generator.nextFloat() < p ? 0 : scale
        mask[i] = factor
        y[i] = x[i] * factor
    }
}

/// dy, mask: (count) → dx += dy · mask.
func dropoutBackward(dy: UnsafePointer<Float>, mask: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
    parallelFor(count, grain: 1 << 15) { range in
        for i in range { dx[i] += dy[i] * mask[i] }
    }
}
