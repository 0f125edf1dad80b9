import Tensors

/// Vectors over θ, the flat concatenation of a model's trainable parameters, as the Hessian estimators pass them:
/// float32 entries (the parameters' precision), reductions summed in Double.
public enum FlatVector {
    /// ‖x‖₂.
    public static func norm(_ x: UnsafeBufferPointer<Float>) -> Double {
        var sum = 0.0
        for value in x { sum += Double(value) * Double(value) }
        return sum.squareRoot()
    }

    public static func norm(_ x: [Float]) -> Double { x.withUnsafeBufferPointer { norm($0) } }

    /// xᵀy.
    public static func dot(_ x: [Float], _ y: [Float]) -> Double {
        precondition(x.count == y.count, "dot of \(x.count) and \(y.count) values")
        var sum = 0.0
        for i in x.indices { sum += Double(x[i]) * Double(y[i]) }
        return sum
    }

    /// `count` independent ±1 entries, one bit of `generator` each (64 per draw).
    public static func rademacher(_ count: Int, generator: inout RandomGenerator) -> [Float] {
        var result = [Float](repeating: 1, count: count)
        var bits: UInt64 = 0
        for i in 0..<count {
            if i % 64 == 0 { bits = generator.next() }
            if bits & 1 == 1 { result[i] = -1 }
            bits >>= 1
        }
        return result
    }
}
