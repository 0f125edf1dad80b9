/// Residual add fused with the layer norm that follows it (pre-LN blocks: h = x + f(x), then LN(h); post-LN
/// blocks: LN(x + f(x))). One pass reads x and y and writes both the sum and its normalised form, instead of an add
/// pass and a norm pass that reads the sum back. x, y: (..., C) → sum, normed: same shape; weight, bias: (C) or nil.
public func addLayerNorm(_ x: Tensor, _ y: Tensor, weight: Tensor?, bias: Tensor?,
                         eps: Float = 1e-5) -> (sum: Tensor, normed: Tensor) {
    precondition(x.shape == y.shape, "addLayerNorm: \(x.shape) and \(y.shape) differ")
    let c = x.rank == 0 ? 1 : x.size(-1)
    let n = c == 0 ? 0 : x.count / c
    for parameter in [weight, bias].compactMap({ $0 }) {
        precondition(parameter.shape == [c], "addLayerNorm: parameter \(parameter.shape) does not match input \(x.shape)")
    }
    let sum = Tensor(uninitialized: x.shape), normed = Tensor(uninitialized: x.shape)
    let mean = Tensor(uninitialized: [n]), rstd = Tensor(uninitialized: [n])
    let px = x.data, py = y.data, ps = sum.data
    parallelFor(n, grain: max(1, (1 << 14) / max(c, 1))) { rows in
        for row in rows {
            let offset = row * c
            forEachVector(c) { i, lanes in
                (ps + offset + i).storeVector((px + offset + i).loadVector(lanes) + (py + offset + i).loadVector(lanes), lanes)
            }
            layerNormForward(x: ps + offset, weight: weight?.data, bias: bias?.data, y: normed.data + offset,
                             mean: mean.data + row, rstd: rstd.data + row, n: 1, c: c, eps: eps)
        }
    }
    guard Autograd.needsGradient([x, y] + [weight, bias].compactMap { $0 }) else { return (sum, normed) }
    // Two tape entries, the sum's first: backward runs the norm's (into sum.grad), then the add's.
    Autograd.record(sum) {
        let g = sum.grad!.data
        for input in [x, y] where input.requiresGrad { accumulateGradient(g, into: input) }
    }
    Autograd.record(normed) {
        layerNormBackward(dy: normed.grad!.data, x: sum.data, weight: weight?.data, mean: mean.data, rstd: rstd.data,
                          dx: sum.gradData(), dweight: weight.flatMap { $0.requiresGrad ? $0.gradData() : nil },
                          dbias: bias.flatMap { $0.requiresGrad ? $0.gradData() : nil }, n: n, c: c)
    }
    return (sum, normed)
}
