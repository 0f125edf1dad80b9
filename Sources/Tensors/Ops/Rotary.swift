import Foundation

/// Rotary position embedding (RoFormer, Su et al. 2021, arXiv:2104.09864, eq. 34), in the rotate-half layout of
/// Hugging Face Llama: dimension i pairs with i + D/2 rather than with its neighbour.
///
/// x: (B, H, T, D), D even → y: (B, H, T, D). For position p = t + positionOffset and i < D/2:
///   θ = p · base^(−2i/D),
///   y[i] = x[i] cos θ − x[i + D/2] sin θ,   y[i + D/2] = x[i + D/2] cos θ + x[i] sin θ.
/// `positionOffset` is the position of the first row (tokens already in a KV cache).
public func rotaryEmbedding(_ x: Tensor, base: Float = 10000, positionOffset: Int = 0) -> Tensor {
    precondition(x.rank == 4 && x.size(3) % 2 == 0, "rotaryEmbedding needs (B, H, T, D) with D even, got \(x.shape)")
    let length = x.size(2), dim = x.size(3)
    let (cos, sin) = rotaryTables(length: length, dim: dim, base: base, positionOffset: positionOffset)
    let out = Tensor(uninitialized: x.shape)
    cos.withUnsafeBufferPointer { cos in
        sin.withUnsafeBufferPointer { sin in
            rotaryForward(x: x.data, y: out.data, cos: cos.baseAddress!, sin: sin.baseAddress!,
                          rows: x.count / max(dim, 1), length: length, dim: dim)
        }
    }
    guard Autograd.needsGradient(x) else { return out }
    Autograd.record(out) {
        cos.withUnsafeBufferPointer { cos in
            sin.withUnsafeBufferPointer { sin in
                rotaryBackward(dy: out.grad!.data, dx: x.gradData(), cos: cos.baseAddress!, sin: sin.baseAddress!,
                               rows: x.count / max(dim, 1), length: length, dim: dim)
            }
        }
    }
    return out
}

/// cos θ and sin θ: (T, D/2), computed in Double (angles reach T · 1 rad) and rounded to Float,
/// as the Hugging Face float64 inv_freq path does.
func rotaryTables(length: Int, dim: Int, base: Float, positionOffset: Int) -> (cos: [Float], sin: [Float]) {
    let half = dim / 2
    let inverseFrequency = (0..<half).map { 1 / Foundation.pow(Double(base), Double(2 * $0) / Double(dim)) }
    var cos = [Float](repeating: 0, count: length * half), sin = cos
    for t in 0..<length {
        let position = Double(t + positionOffset)
        for i in 0..<half {
            let angle = position * inverseFrequency[i]
            cos[t * half + i] = Float(Foundation.cos(angle))
            sin[t * half + i] = Float(Foundation.sin(angle))
        }
    }
    return (cos, sin)
}

/// x: (rows, D) with row r at position r mod T → y: (rows, D), rotated by θ(r mod T).
func rotaryForward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, cos: UnsafePointer<Float>,
                   sin: UnsafePointer<Float>, rows: Int, length: Int, dim: Int) {
    let half = dim / 2
    parallelFor(rows, grain: max(1, (1 << 15) / max(dim, 1))) { range in
        for row in range {
            let c = cos + (row % length) * half, s = sin + (row % length) * half
            let xLow = x + row * dim, xHigh = xLow + half
            let yLow = y + row * dim, yHigh = yLow + half
            for i in 0..<half {
                yLow[i] = xLow[i] * c[i] - xHigh[i] * s[i]
                yHigh[i] = xHigh[i] * c[i] + xLow[i] * s[i]
            }
        }
    }
}

/// dy: (rows, D) → accumulates dx: (rows, D) += the inverse rotation (by −θ) of dy.
func rotaryBackward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, cos: UnsafePointer<Float>,
                    sin: UnsafePointer<Float>, rows: Int, length: Int, dim: Int) {
    let half = dim / 2
    parallelFor(rows, grain: max(1, (1 << 15) / max(dim, 1))) { range in
        for row in range {
            let c = cos + (row % length) * half, s = sin + (row % length) * half
            let gLow = dy + row * dim, gHigh = gLow + half
            let dxLow = dx + row * dim, dxHigh = dxLow + half
            for i in 0..<half {
                dxLow[i] += gLow[i] * c[i] + gHigh[i] * s[i]
                dxHigh[i] += gHigh[i] * c[i] - gLow[i] * s[i]
            }
        }
    }
}
