import Tensors

/// Scales all gradients so that their global L2 norm is at most `maxNorm` (as torch.nn.utils.clip_grad_norm_:
/// g ← g · min(1, maxNorm / (norm + 1e-6))). Returns the norm before clipping; a non-finite norm leaves the
/// gradients untouched so that the caller can skip the update.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    let norm = gradientNorm(parameters)
    guard norm.isFinite else { return norm }
    let coefficient = min(1, maxNorm / (norm + 1e-6))
    guard coefficient < 1 else { return norm }
    for parameter in parameters {
        guard let grad = parameter.grad else { continue }
        let g = grad.data
        parallelFor(grad.count, grain: 1 << 15) { range in for i in range { g[i] *= coefficient } }
    }
    return norm
}

/// Global L2 norm of every gradient (accumulated in Double).
public func gradientNorm(_ parameters: [Tensor]) -> Float {
    var total = 0.0
    for parameter in parameters {
        guard let grad = parameter.grad else { continue }
        let g = grad.data
        var partial = 0.0
        for i in 0..<grad.count { partial += Double(g[i]) * Double(g[i]) }
        total += partial
    }
    return Float(total.squareRoot())
}
