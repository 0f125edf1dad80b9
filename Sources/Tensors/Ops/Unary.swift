import Foundation

/// Elementwise functions. Each kind has its value and its derivative (from x and y) side by side.
public enum UnaryKind {
    case exp, log, sqrt, tanh, sigmoid, relu, geluTanh, geluErf, silu
}

public func exp(_ x: Tensor) -> Tensor { unary(.exp, x) }
public func log(_ x: Tensor) -> Tensor { unary(.log, x) }
public func sqrt(_ x: Tensor) -> Tensor { unary(.sqrt, x) }
public func tanh(_ x: Tensor) -> Tensor { unary(.tanh, x) }
public func sigmoid(_ x: Tensor) -> Tensor { unary(.sigmoid, x) }
public func relu(_ x: Tensor) -> Tensor { unary(.relu, x) }
public func silu(_ x: Tensor) -> Tensor { unary(.silu, x) }

public enum GELUApproximation { case none, tanh }
/// GELU: exact (erf) form, or the tanh approximation of GPT-2 ("gelu_new").
public func gelu(_ x: Tensor, approximate: GELUApproximation = .none) -> Tensor {
    unary(approximate == .tanh ? .geluTanh : .geluErf, x)
}

private let sqrtTwoOverPi: Float = 0.797_884_560_802_865_4
private let invSqrtTwo: Float = 0.707_106_781_186_547_5
private let invSqrtTwoPi: Float = 0.398_942_280_401_432_7

@inline(__always)
func unaryValue(_ kind: UnaryKind, _ x: Float) -> Float {
    switch kind {
    case .exp: return Foundation.exp(x)
    case .log: return Foundation.log(x)
    case .sqrt: return x.squareRoot()
    case .tanh: return Foundation.tanh(x)
    case .sigmoid: return 1 / (1 + Foundation.exp(-x))
    case .relu: return x > 0 ? x : 0
    case .geluTanh: return 0.5 * x * (1 + Foundation.tanh(sqrtTwoOverPi * (x + 0.044715 * x * x * x)))
    case .geluErf: return 0.5 * x * (1 + erf(x * invSqrtTwo))
    case .silu: return x / (1 + Foundation.exp(-x))
    }
}

/// dy/dx given x and y = f(x).
@inline(__always)
func unaryDerivative(_ kind: UnaryKind, _ x: Float, _ y: Float) -> Float {
    switch kind {
    case .exp: return y
    case .log: return 1 / x
    case .sqrt: return 0.5 / y
    case .tanh: return 1 - y * y
    case .sigmoid: return y * (1 - y)
    case .relu: return x > 0 ? 1 : 0
    case .geluTanh:
        let inner = sqrtTwoOverPi * (x + 0.044715 * x * x * x)
        let t = Foundation.tanh(inner)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * sqrtTwoOverPi * (1 + 3 * 0.044715 * x * x)
    case .geluErf:
        return 0.5 * (1 + erf(x * invSqrtTwo)) + x * invSqrtTwoPi * Foundation.exp(-0.5 * x * x)
    case .silu:
        let s = 1 / (1 + Foundation.exp(-x))
        return s * (1 + x * (1 - s))
    }
}

/// Vector form of `unaryValue` for the kinds with a fast path (nil: use the scalar one).
@inline(__always)
func unaryVectorValue(_ kind: UnaryKind, _ x: FloatVector) -> FloatVector? {
    switch kind {
    case .exp: return fastExp(x)
    case .tanh: return fastTanh(x)
    case .sigmoid: return 1 / (1 + fastExp(-x))
    case .relu: return x.replacing(with: 0, where: x .<= 0)
    case .geluTanh:
        let cube: FloatVector = x * x * x
        let inner: FloatVector = sqrtTwoOverPi * (x + 0.044715 * cube)
        return 0.5 * x * (1 + fastTanh(inner))
    case .geluErf: return 0.5 * x * fastErfc(-invSqrtTwo * x)    // x·Φ(x), Φ(x) = erfc(−x/√2)/2
    case .silu: return x / (1 + fastExp(-x))
    case .log, .sqrt: return nil
    }
}

/// Vector form of `unaryDerivative` (nil: use the scalar one).
@inline(__always)
func unaryVectorDerivative(_ kind: UnaryKind, _ x: FloatVector, _ y: FloatVector) -> FloatVector? {
    switch kind {
    case .exp: return y
    case .tanh: return 1 - y * y
    case .sigmoid: return y * (1 - y)
    case .relu: return FloatVector(repeating: 0).replacing(with: 1, where: x .> 0)
    case .geluTanh:
        let square: FloatVector = x * x
        let inner: FloatVector = sqrtTwoOverPi * (x + 0.044715 * square * x)
        let t = fastTanh(inner)
        let slope: FloatVector = sqrtTwoOverPi * (1 + 3 * 0.044715 * square)
        let half: FloatVector = 0.5 * (1 + t)
        return half + 0.5 * x * (1 - t * t) * slope
    case .geluErf:
        // Φ(x) + x·φ(x)
        let density: FloatVector = invSqrtTwoPi * fastExp(-0.5 * x * x)
        return (0.5 * fastErfc(-invSqrtTwo * x)).addingProduct(x, density)
    case .silu:
        let s = 1 / (1 + fastExp(-x))
        return s * (1 + x * (1 - s))
    case .log, .sqrt: return nil
    }
}

public func unary(_ kind: UnaryKind, _ x: Tensor) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    let px = x.data, py = out.data
    let vectorised = unaryVectorValue(kind, FloatVector()) != nil
    parallelFor(x.count, grain: 1 << 14) { range in
        guard vectorised else {
            for i in range { py[i] = unaryValue(kind, px[i]) }
            return
        }
        forEachVector(range.count) { offset, lanes in
            let at = range.lowerBound + offset
            (py + at).storeVector(unaryVectorValue(kind, (px + at).loadVector(lanes))!, lanes)
        }
    }
    guard Autograd.needsGradient(x) else { return out }
    Autograd.record(out) {
        let g = out.grad!.data, (dx, overwrite) = x.gradDataForWriting()
        parallelFor(x.count, grain: 1 << 14) { range in
            guard vectorised else {
                for i in range {
                    let term = g[i] * unaryDerivative(kind, px[i], py[i])
                    dx[i] = overwrite ? term : dx[i] + term
                }
                return
            }
            forEachVector(range.count) { offset, lanes in
                let at = range.lowerBound + offset
                let derivative = unaryVectorDerivative(kind, (px + at).loadVector(lanes), (py + at).loadVector(lanes))!
                let term = (g + at).loadVector(lanes) * derivative
                (dx + at).storeVector(overwrite ? term : (dx + at).loadVector(lanes) + term, lanes)
            }
        }
    }
    return out
}
