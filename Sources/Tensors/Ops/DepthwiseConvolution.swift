/// Depthwise 1-D convolution over time in the channels-last layout a Transformer keeps its states in (the
/// Conformer's convolution module, Gulati et al. 2020 §2.2): each channel has its own K taps and sees only itself.
/// The same as `conv1d(x.permuted([0, 2, 1]), weight: w.reshaped([C, 1, K]), groups: C)` permuted back, without the
/// two transposes and the im2col of a GEMM per channel.
///
/// x: (B, T, C) · weight: (C, K) + bias: (C) → y: (B, T, C), zero padding of `padding` frames on both sides:
///   y[b, t, c] = bias[c] + Σ_k weight[c, k] · x[b, t + k − padding, c]   (terms outside 0..<T are zero).
/// Output length T + 2·padding − K + 1 must equal T, so K = 2·padding + 1 (odd kernels, "same" padding).
public func depthwiseConv1d(_ x: Tensor, weight: Tensor, bias: Tensor?, padding: Int) -> Tensor {
    precondition(x.rank == 3, "depthwiseConv1d: input must be (B, T, C), got \(x.shape)")
    let (batch, length, channels) = (x.size(0), x.size(1), x.size(2))
    precondition(weight.shape.count == 2 && weight.size(0) == channels,
                 "depthwiseConv1d: weight must be (C, K) with C = \(channels), got \(weight.shape)")
    let kernel = weight.size(1)
    precondition(kernel == 2 * padding + 1, "depthwiseConv1d: kernel \(kernel) must be 2·padding + 1 (padding \(padding))")
    if let bias { precondition(bias.shape == [channels], "depthwiseConv1d: bias \(bias.shape) for \(channels) channels") }
    // Taps transposed to (K, C) so that the inner loop runs over contiguous channels of x, w and y alike.
    let taps = [Float](unsafeUninitializedCapacity: kernel * channels) { buffer, count in
        for c in 0..<channels { for k in 0..<kernel { buffer[k * channels + c] = weight.data[c * kernel + k] } }
        count = kernel * channels
    }
    let out = Tensor(uninitialized: x.shape)
    let (xp, yp, bp) = (x.data, out.data, bias?.data)
    taps.withUnsafeBufferPointer { taps in
        let w = taps.baseAddress!
        parallelFor(batch * length, grain: max(1, 4096 / max(channels * kernel, 1))) { rows in
            for row in rows {
                let (b, t) = (row / length, row % length)
                let y = yp + row * channels
                if let bp { y.update(from: bp, count: channels) } else { y.update(repeating: 0, count: channels) }
                for k in max(0, padding - t)..<min(kernel, length + padding - t) {
                    let source = xp + (b * length + t + k - padding) * channels
                    let tap = w + k * channels
                    for c in 0..<channels { y[c] += tap[c] * source[c] }
                }
            }
        }
    }
    guard Autograd.needsGradient([x, weight] + (bias.map { [$0] } ?? [])) else { return out }
    Autograd.record(out) {
        let dy = out.grad!.data
        if x.requiresGrad {
            // dx[b, s, c] = Σ_k w[c, k] · dy[b, s − k + padding, c].
            let dx = x.gradData()
            taps.withUnsafeBufferPointer { taps in
                let w = taps.baseAddress!
                parallelFor(batch * length, grain: max(1, 4096 / max(channels * kernel, 1))) { rows in
                    for row in rows {
                        let (b, s) = (row / length, row % length)
                        let target = dx + row * channels
                        for k in max(0, s + padding - length + 1)..<min(kernel, s + padding + 1) {
                            let source = dy + (b * length + s - k + padding) * channels
                            let tap = w + k * channels
                            for c in 0..<channels { target[c] += tap[c] * source[c] }
                        }
                    }
                }
            }
        }
        if weight.requiresGrad || (bias?.requiresGrad ?? false) {
            // dw[c, k] = Σ_{b,t} dy[b, t, c] · x[b, t + k − padding, c]; db[c] = Σ_{b,t} dy[b, t, c]. Per batch row
            // partial sums (summed in row order afterwards, so any thread count gives the same values).
            var partial = [Float](repeating: 0, count: batch * (kernel + 1) * channels)
            partial.withUnsafeMutableBufferPointer { partial in
                let base = partial.baseAddress!
                parallelFor(batch) { rows in
                    for b in rows {
                        let sums = base + b * (kernel + 1) * channels
                        for t in 0..<length {
                            let g = dy + (b * length + t) * channels
                            for k in max(0, padding - t)..<min(kernel, length + padding - t) {
                                let source = xp + (b * length + t + k - padding) * channels
                                let sum = sums + k * channels
                                for c in 0..<channels { sum[c] += g[c] * source[c] }
                            }
                            let biasSum = sums + kernel * channels
                            for c in 0..<channels { biasSum[c] += g[c] }
                        }
                    }
                }
            }
            if weight.requiresGrad {
                let dw = weight.gradData()
                for b in 0..<batch {
                    for k in 0..<kernel {
                        for c in 0..<channels { dw[c * kernel + k] += partial[(b * (kernel + 1) + k) * channels + c] }
                    }
                }
            }
            if let bias, bias.requiresGrad {
                let db = bias.gradData()
                for b in 0..<batch { for c in 0..<channels { db[c] += partial[(b * (kernel + 1) + kernel) * channels + c] } }
            }
        }
    }
    return out
}
