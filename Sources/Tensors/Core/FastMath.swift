/// Vectorised exp and tanh for the hot kernels (GELU, SiLU, sigmoid, softmax, cross-entropy, attention).
/// libm's scalar expf/tanhf cost 3–4 ns an element and dominated a training step; these run 8 lanes at a
/// time (16 on an AVX-512 build, `WIDE_SIMD`: one register either way) with Cephes' minimax polynomials (S. Moshier, Cephes Math Library), within a few ulp of libm
/// (tested against it in FastMathTests).
#if WIDE_SIMD
public typealias FloatVector = SIMD16<Float>
/// The same lanes' bits, as signed and unsigned integers.
public typealias FloatBitsVector = SIMD16<Int32>
public typealias FloatUnsignedBitsVector = SIMD16<UInt32>
#else
public typealias FloatVector = SIMD8<Float>
public typealias FloatBitsVector = SIMD8<Int32>
public typealias FloatUnsignedBitsVector = SIMD8<UInt32>
#endif


/// e^x. Exactly 0 below −87.3, ~2.4e38 above 88.38 (no infinities); NaN stays NaN.
@_transparent  // @inline(__always) was not honoured across these call sites; exp is the inner loop of several kernels.
public func fastExp(_ x: FloatVector) -> FloatVector {
    // Swift's generic SIMD rounding, clamping and Int32 conversions do not lower to single instructions;
    // compares with blends and the 1.5·2²³ "magic number" addition do. Swift does not contract a·b + c
    // into an FMA by itself, so the polynomial uses addingProduct.
    var clamped = x.replacing(with: -87.33654, where: x .< -87.33654)
    clamped.replace(with: 88.37626, where: clamped .> 88.37626)
    // e^x = 2^n · e^r with n = round(x / ln 2), |r| ≤ ln2 / 2; ln 2 split in two for an exact n·ln2.
    // Adding 1.5·2²³ rounds to the nearest integer and leaves it in the low mantissa bits.
    let shifted = FloatVector(repeating: 12_582_912).addingProduct(clamped, 1.442_695_040_888_963_4)
    let n = shifted - 12_582_912
    let r = clamped.addingProduct(n, -0.693_359_375).addingProduct(n, 2.121_944_400_546_905_8e-4)
    var p = FloatVector(repeating: 1.398_199_950_7e-3).addingProduct(r, 1.987_569_150_0e-4)
    p = FloatVector(repeating: 8.333_451_907_3e-3).addingProduct(p, r)
    p = FloatVector(repeating: 4.166_579_589_4e-2).addingProduct(p, r)
    p = FloatVector(repeating: 1.666_666_545_9e-1).addingProduct(p, r)
    p = FloatVector(repeating: 5.000_000_120_1e-1).addingProduct(p, r)
    let expR = (r + 1).addingProduct(p, r * r)
    let integer = unsafeBitCast(shifted, to: FloatBitsVector.self) &- 0x4B40_0000
    let exponentBits = (integer &+ 127) &<< 23
    var result = expR * unsafeBitCast(exponentBits, to: FloatVector.self)
    result.replace(with: 0, where: x .< -87.33654)  // exp(−∞) = 0 exactly (masked attention scores rely on it)
    result.replace(with: x, where: x .!= x)  // NaN in, NaN out
    return result
}

/// tanh(x): an odd polynomial for |x| < 0.625 (no cancellation near 0), 1 − 2/(e^{2|x|} + 1) beyond.
@_transparent
public func fastTanh(_ x: FloatVector) -> FloatVector {
    let magnitude = unsafeBitCast(unsafeBitCast(x, to: FloatUnsignedBitsVector.self) & 0x7fff_ffff, to: FloatVector.self)
    let z = x * x
    var p = FloatVector(repeating: -5.704_988_727_45e-3)
    p = p * z + 2.063_908_879_54e-2
    p = p * z - 5.373_971_555_31e-2
    p = p * z + 1.333_144_220_36e-1
    p = p * z - 3.333_328_194_22e-1
    let small = p * z * x + x
    let large = 1 - 2 / (fastExp(2 * magnitude) + 1)
    var result = large
    result.replace(with: -large, where: x .< 0)
    result.replace(with: small, where: magnitude .< 0.625)
    return result
}

/// erfc(x), with a relative error below 1.2e-7 for every x (the Chebyshev fit of Press et al., Numerical
/// Recipes §6.2, "erfcc"): relative, not absolute, so GELU's far negative tail 0.5·erfc(|x|/√2) stays accurate.
@_transparent
public func fastErfc(_ x: FloatVector) -> FloatVector {
    let z = unsafeBitCast(unsafeBitCast(x, to: FloatUnsignedBitsVector.self) & 0x7fff_ffff, to: FloatVector.self)
    let t = 1 / (1 + 0.5 * z)
    var p = FloatVector(repeating: 0.170_872_77)
    p = FloatVector(repeating: -0.822_152_23).addingProduct(p, t)
    p = FloatVector(repeating: 1.488_515_87).addingProduct(p, t)
    p = FloatVector(repeating: -1.135_203_98).addingProduct(p, t)
    p = FloatVector(repeating: 0.278_868_07).addingProduct(p, t)
    p = FloatVector(repeating: -0.186_288_06).addingProduct(p, t)
    p = FloatVector(repeating: 0.096_784_18).addingProduct(p, t)
    p = FloatVector(repeating: 0.374_091_96).addingProduct(p, t)
    p = FloatVector(repeating: 1.000_023_68).addingProduct(p, t)
    p = FloatVector(repeating: -1.265_512_23).addingProduct(p, t)
    let tail = t * fastExp(p - z * z)
    return tail.replacing(with: 2 - tail, where: x .< 0)
}

/// Applies `body` to `count` floats, a `FloatVector` at a time, with a zero-padded vector for the tail.
@inline(__always)
public func forEachVector(_ count: Int, _ body: (_ offset: Int, _ lanes: Int) -> Void) {
    let width = FloatVector.scalarCount
    var i = 0
    while i + width <= count { body(i, width); i += width }
    if i < count { body(i, count - i) }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// Loads `lanes` (at most a vector's) floats starting here; missing lanes are `fill`.
    @inline(__always)
    public func loadVector(_ lanes: Int = FloatVector.scalarCount, fill: Float = 0) -> FloatVector {
        if lanes == FloatVector.scalarCount { return UnsafeRawPointer(self).loadUnaligned(as: FloatVector.self) }
        var v = FloatVector(repeating: fill)
        for lane in 0..<lanes { v[lane] = self[lane] }
        return v
    }

    /// Stores the first `lanes` lanes of `v` here.
    @inline(__always)
    public func storeVector(_ v: FloatVector, _ lanes: Int = FloatVector.scalarCount) {
        if lanes == FloatVector.scalarCount { UnsafeMutableRawPointer(self).storeBytes(of: v, as: FloatVector.self); return }
        for lane in 0..<lanes { self[lane] = v[lane] }
    }
}

extension UnsafePointer where Pointee == Float {
    /// Loads `lanes` (at most a vector's) floats starting here; missing lanes are `fill`.
    @inline(__always)
    public func loadVector(_ lanes: Int = FloatVector.scalarCount, fill: Float = 0) -> FloatVector {
        UnsafeMutablePointer(mutating: self).loadVector(lanes, fill: fill)
    }
}

/// Largest of `count` floats (−∞ for none).
@inline(__always)
public func vectorMax(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
    var best = FloatVector(repeating: -.infinity)
    forEachVector(count) { offset, lanes in
        let v = (p + offset).loadVector(lanes, fill: -.infinity)
        best.replace(with: v, where: v .> best)
    }
    return best.max()
}

/// Σ exp(p[j] − shift) over `count` floats, eight partial sums at a time.
@inline(__always)
public func vectorSumExp(_ p: UnsafePointer<Float>, _ count: Int, shift: Float) -> Float {
    var total = FloatVector()
    forEachVector(count) { offset, lanes in
        let e = fastExp((p + offset).loadVector(lanes, fill: -.infinity) - shift)
        total += e  // padded lanes hold exp(−∞) = 0
    }
    return total.sum()
}

/// destination[i] = e^(source[i] − shift) for i < count, and their sum (`vectorSumExp` that keeps the terms);
/// destination may be source.
@inline(__always)
public func vectorStoreExp(_ source: UnsafePointer<Float>, _ count: Int, shift: Float,
                           into destination: UnsafeMutablePointer<Float>) -> Float {
    var total = FloatVector()
    forEachVector(count) { offset, lanes in
        let e = fastExp((source + offset).loadVector(lanes, fill: -.infinity) - shift)
        (destination + offset).storeVector(e, lanes)
        total += e
    }
    return total.sum()
}
