import Tensors

/// Scales all gradients so that their global L2 norm is at most `maxNorm` (as torch.nn.utils.clip_grad_norm_:
/// g ← g · min(1, maxNorm / (norm + 1e-6))). Returns the norm before clipping; a non-finite norm leaves the
/// gradients untouched so that the caller can skip the update.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    let norm = gradientNorm(parameters)
    clipGradients(parameters, maxNorm: maxNorm, norm: norm)
    return norm
}

/// The scaling step of `clipGradNorm` for gradients whose global norm is already known (a data-parallel rank
/// holding a share of them, whose norm was summed over the ranks): nothing when the norm is non-finite or within
/// `maxNorm`.
public func clipGradients(_ parameters: [Tensor], maxNorm: Float, norm: Float) {
    guard norm.isFinite else { return }
    let coefficient = min(1, maxNorm / (norm + 1e-6))
    guard coefficient < 1 else { return }
    for parameter in parameters {
        guard let grad = parameter.grad else { continue }
        let g = grad.data
        parallelFor(grad.count, grain: 1 << 15) { range in for i in range { g[i] *= coefficient } }
    }
}

/// Global L2 norm of every gradient (accumulated in Double).
public func gradientNorm(_ parameters: [Tensor]) -> Float {
    Float(gradientSquaredNorm(parameters).squareRoot())
}

/// Σ g² over every gradient, in Double, tensor by tensor in order.
public func gradientSquaredNorm(_ parameters: [Tensor]) -> Double {
    var total = 0.0
    for parameter in parameters {
        guard let grad = parameter.grad else { continue }
        let g = grad.data
        var partial = 0.0
        for i in 0..<grad.count { partial += Double(g[i]) * Double(g[i]) }
        total += partial
    }
    return total
}
