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
    let coefficient = clippingCoefficient(norm: norm, maxNorm: maxNorm)
    guard coefficient < 1 else { return }
    for parameter in parameters {
        guard let grad = parameter.grad else { continue }
        let g = grad.data
        parallelFor(grad.count, grain: 1 << 15) { range in for i in range { g[i] *= coefficient } }
    }
}

/// What clipping multiplies the gradients by: min(1, maxNorm / (norm + 1e-6)), and 1 for a non-finite norm (the
/// caller skips that update). `Optimizer.step(gradientScale:)` takes it, sparing the pass that rescales them.
public func clippingCoefficient(norm: Float, maxNorm: Float) -> Float {
    norm.isFinite ? min(1, maxNorm / (norm + 1e-6)) : 1
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
        total += squaredSum(grad.data, count: grad.count)
    }
    return total
}

/// Σ x² in Double over blocks of 16,384 values, each summed in eight interleaved running sums, the blocks in
/// parallel and their sums added in order: the same value for every thread count. (One running sum was a chain of
/// dependent additions, 3.5 ms of a 4.2 M-parameter step.)
func squaredSum(_ x: UnsafePointer<Float>, count: Int) -> Double {
    let block = 16_384
    let blocks = (count + block - 1) / block
    guard blocks > 1 else { return blockSquaredSum(x, count: count) }
    let partials = UnsafeMutablePointer<Double>.allocate(capacity: blocks)
    defer { partials.deallocate() }
    parallelFor(blocks) { range in
        for index in range {
            partials[index] = blockSquaredSum(x + index * block, count: min(block, count - index * block))
        }
    }
    var total = 0.0
    for index in 0..<blocks { total += partials[index] }
    return total
}

@inline(__always)
private func blockSquaredSum(_ x: UnsafePointer<Float>, count: Int) -> Double {
    var sums = SIMD8<Double>()
    var index = 0
    while index + 8 <= count {
        let values = SIMD8<Double>(UnsafeRawPointer(x + index).loadUnaligned(as: SIMD8<Float>.self))
        sums += values * values
        index += 8
    }
    var total = sums.sum()
    while index < count {
        total += Double(x[index]) * Double(x[index])
        index += 1
    }
    return total
}
