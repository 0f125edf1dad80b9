/// Elementwise binary ops with numpy broadcasting: a (...) ∘ b (...) → broadcastShape(a, b).
enum BinaryKind { case add, subtract, multiply, divide }

public func + (a: Tensor, b: Tensor) -> Tensor { binary(.add, a, b) }
public func - (a: Tensor, b: Tensor) -> Tensor { binary(.subtract, a, b) }
public func * (a: Tensor, b: Tensor) -> Tensor { binary(.multiply, a, b) }
public func / (a: Tensor, b: Tensor) -> Tensor { binary(.divide, a, b) }

public func + (a: Tensor, s: Float) -> Tensor { affine(a, scale: 1, shift: s) }
public func - (a: Tensor, s: Float) -> Tensor { affine(a, scale: 1, shift: -s) }
public func * (a: Tensor, s: Float) -> Tensor { affine(a, scale: s, shift: 0) }
public func / (a: Tensor, s: Float) -> Tensor { affine(a, scale: 1 / s, shift: 0) }
public func * (s: Float, a: Tensor) -> Tensor { affine(a, scale: s, shift: 0) }
public prefix func - (a: Tensor) -> Tensor { affine(a, scale: -1, shift: 0) }

@inline(__always)
func binaryKernel(_ kind: BinaryKind, _ x: Float, _ y: Float) -> Float {
    switch kind {
    case .add: return x + y
    case .subtract: return x - y
    case .multiply: return x * y
    case .divide: return x / y
    }
}

func binary(_ kind: BinaryKind, _ a: Tensor, _ b: Tensor) -> Tensor {
    let shape = a.shape == b.shape ? a.shape : broadcastShape(a.shape, b.shape)
    let out = Tensor(uninitialized: shape)
    let pa = a.data, pb = b.data, po = out.data
    let sameShape = a.shape == b.shape
    if sameShape {
        parallelFor(out.count, grain: 1 << 15) { range in
            switch kind {
            case .add: for i in range { po[i] = pa[i] + pb[i] }
            case .subtract: for i in range { po[i] = pa[i] - pb[i] }
            case .multiply: for i in range { po[i] = pa[i] * pb[i] }
            case .divide: for i in range { po[i] = pa[i] / pb[i] }
            }
        }
    } else {
        let stridesA = broadcastStrides(a.shape, to: shape), stridesB = broadcastStrides(b.shape, to: shape)
        forEachBroadcastRun(shape, stridesA: stridesA, stridesB: stridesB) { o, ia, ib, length, sa, sb in
            for i in 0..<length { po[o + i] = binaryKernel(kind, pa[ia + i * sa], pb[ib + i * sb]) }
        }
    }
    guard Autograd.needsGradient(a, b) else { return out }
    Autograd.record(out) {
        binaryBackward(kind, a, b, out: out, sameShape: sameShape)
    }
    return out
}

/// d(a∘b)/da and d(a∘b)/db, summed over broadcast axes into the inputs' gradients.
func binaryBackward(_ kind: BinaryKind, _ a: Tensor, _ b: Tensor, out: Tensor, sameShape: Bool) {
    let shape = out.shape
    let g = out.grad!.data, pa = a.data, pb = b.data
    let stridesA = sameShape ? [] : broadcastStrides(a.shape, to: shape)
    let stridesB = sameShape ? [] : broadcastStrides(b.shape, to: shape)
    if a.requiresGrad {
        if sameShape {
            // Stored into a fresh gradient (no zeroing pass), added into an existing one.
            let (da, overwrite) = a.gradDataForWriting()
            parallelFor(out.count, grain: 1 << 15) { range in
                switch (kind, overwrite) {
                case (.add, true), (.subtract, true): (da + range.lowerBound).update(from: g + range.lowerBound, count: range.count)
                case (.add, false), (.subtract, false): for i in range { da[i] += g[i] }
                case (.multiply, true): for i in range { da[i] = g[i] * pb[i] }
                case (.multiply, false): for i in range { da[i] += g[i] * pb[i] }
                case (.divide, true): for i in range { da[i] = g[i] / pb[i] }
                case (.divide, false): for i in range { da[i] += g[i] / pb[i] }
                }
            }
        } else {
            let da = a.gradData()
            forEachBroadcastRun(shape, stridesA: stridesA, stridesB: stridesB) { o, ia, ib, length, sa, sb in
                for i in 0..<length {
                    let gi = g[o + i]
                    switch kind {
                    case .add, .subtract: da[ia + i * sa] += gi
                    case .multiply: da[ia + i * sa] += gi * pb[ib + i * sb]
                    case .divide: da[ia + i * sa] += gi / pb[ib + i * sb]
                    }
                }
            }
        }
    }
    if b.requiresGrad {
        if sameShape {
            let (db, overwrite) = b.gradDataForWriting()
            parallelFor(out.count, grain: 1 << 15) { range in
                switch (kind, overwrite) {
                case (.add, true): (db + range.lowerBound).update(from: g + range.lowerBound, count: range.count)
                case (.add, false): for i in range { db[i] += g[i] }
                case (.subtract, true): for i in range { db[i] = -g[i] }
                case (.subtract, false): for i in range { db[i] -= g[i] }
                case (.multiply, true): for i in range { db[i] = g[i] * pa[i] }
                case (.multiply, false): for i in range { db[i] += g[i] * pa[i] }
                case (.divide, true): for i in range { db[i] = -(g[i] * pa[i] / (pb[i] * pb[i])) }
                case (.divide, false): for i in range { db[i] -= g[i] * pa[i] / (pb[i] * pb[i]) }
                }
            }
        } else {
            let db = b.gradData()
            forEachBroadcastRun(shape, stridesA: stridesA, stridesB: stridesB) { o, ia, ib, length, sa, sb in
                for i in 0..<length {
                    let gi = g[o + i]
                    let y = pb[ib + i * sb]
                    switch kind {
                    case .add: db[ib + i * sb] += gi
                    case .subtract: db[ib + i * sb] -= gi
                    case .multiply: db[ib + i * sb] += gi * pa[ia + i * sa]
                    case .divide: db[ib + i * sb] -= gi * pa[ia + i * sa] / (y * y)
                    }
                }
            }
        }
    }
}

/// y = scale · x + shift.
public func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    let px = x.data, po = out.data
    parallelFor(x.count, grain: 1 << 15) { range in for i in range { po[i] = scale * px[i] + shift } }
    guard Autograd.needsGradient(x) else { return out }
    Autograd.record(out) {
        let g = out.grad!.data, dx = x.gradData()
        parallelFor(x.count, grain: 1 << 15) { range in for i in range { dx[i] += scale * g[i] } }
    }
    return out
}
