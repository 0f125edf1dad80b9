import Foundation

/// Slow reference: materialises the (Tq, Tk) scores and softmax in Double, with the textbook backward
/// (dS = P ∘ (dP − rowsum(P ∘ dP))). Same arguments and masking rules as `scaledDotProductAttention`;
/// used by the tests to cross-check the fused kernels (public because release-built tests cannot use @testable).
public func attentionReference(query: Tensor, key: Tensor, value: Tensor, causal: Bool,
                        keyPadding: IntTensor? = nil, scale: Float? = nil) -> Tensor {
    let shape = AttentionShape(query: query, key: key, value: value, causal: causal, keyPadding: keyPadding,
                               scale: scale)
    let tq = shape.queryLength, tk = shape.keyLength, d = shape.headDim, dv = shape.valueDim
    let scale = Double(shape.scale)
    let out = Tensor(uninitialized: [shape.batch, shape.heads, tq, dv])
    // probs[pair][i][j]; zero where masked.
    var probs = [Double](repeating: 0, count: shape.batch * shape.heads * tq * tk)
    let q = query.data, k = key.data, v = value.data
    for pair in 0..<(shape.batch * shape.heads) {
        let b = pair / shape.heads
        for i in 0..<tq {
            var logits = [Double](repeating: -.infinity, count: tk)
            for j in 0..<tk {
                let padded = keyPadding.map { $0.values[b * tk + j] != 0 } ?? false
                if padded || j >= shape.keyEnd(query: i) { continue }
                var dot = 0.0
                for e in 0..<d { dot += Double(q[(pair * tq + i) * d + e]) * Double(k[(pair * tk + j) * d + e]) }
                logits[j] = dot * scale
            }
            let maximum = logits.max()!
            let row = (pair * tq + i) * tk
            if maximum > -.infinity {
                let weights = logits.map { Foundation.exp($0 - maximum) }
                let total = weights.reduce(0, +)
                for j in 0..<tk { probs[row + j] = weights[j] / total }
            }
            for e in 0..<dv {
                var sum = 0.0
                for j in 0..<tk { sum += probs[row + j] * Double(v[(pair * tk + j) * dv + e]) }
                out.data[(pair * tq + i) * dv + e] = Float(sum)
            }
        }
    }
    guard Autograd.needsGradient(query, key, value) else { return out }
    Autograd.record(out) {
        let g = out.grad!.data
        for pair in 0..<(shape.batch * shape.heads) {
            for i in 0..<tq {
                let row = (pair * tq + i) * tk
                var dP = [Double](repeating: 0, count: tk)
                for j in 0..<tk {
                    for e in 0..<dv { dP[j] += Double(g[(pair * tq + i) * dv + e]) * Double(v[(pair * tk + j) * dv + e]) }
                }
                var rowDot = 0.0
                for j in 0..<tk { rowDot += probs[row + j] * dP[j] }
                for j in 0..<tk {
                    let p = probs[row + j]
                    if value.requiresGrad {
                        let dV = value.gradData()
                        for e in 0..<dv { dV[(pair * tk + j) * dv + e] += Float(p * Double(g[(pair * tq + i) * dv + e])) }
                    }
                    let dS = p * (dP[j] - rowDot) * scale
                    if query.requiresGrad {
                        let dQ = query.gradData()
                        for e in 0..<d { dQ[(pair * tq + i) * d + e] += Float(dS * Double(k[(pair * tk + j) * d + e])) }
                    }
                    if key.requiresGrad {
                        let dK = key.gradData()
                        for e in 0..<d { dK[(pair * tk + j) * d + e] += Float(dS * Double(q[(pair * tq + i) * d + e])) }
                    }
                }
            }
        }
    }
    return out
}
