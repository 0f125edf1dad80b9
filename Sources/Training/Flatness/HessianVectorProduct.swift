import Tensors

/// Hessian-vector products of a `FixedBatchLoss` by central differences of its gradient. The tape has no double
/// backward (a backward closure writes raw gradient buffers and records nothing), so Hv comes from two gradients:
///
///   Hv ≈ (∇L(θ + εv) − ∇L(θ − εv)) / (2ε),   ε = relativeStep · max(‖θ‖, 1) / ‖v‖,
///
/// which moves θ by `relativeStep` of its norm whatever v's length (each entry of a Rademacher v by relativeStep
/// times θ's root-mean-square entry). The truncation error is O(ε²) (the third derivative; the even terms cancel);
/// the rounding error is float32's on the gradients divided by 2ε. Both gradients are summed into one Double
/// buffer (+ then −), so the difference of two nearly equal sums is taken in Double. θ ± εv is rounded to float32
/// from θ's saved copy, and after each product the parameters are copied back from it: bitwise the θ they had.
public final class HessianVectorProduct {
    public let loss: FixedBatchLoss
    public let relativeStep: Double
    /// ‖θ‖ at construction.
    public let parameterNorm: Double
    /// Gradients of L evaluated so far (two per product).
    public private(set) var gradientEvaluations = 0
    /// θ, flat, as construction found it.
    private let origin: [Float]
    private var difference: [Double]

    public static let method = "central differences of gradients: Hv ≈ (∇L(θ+εv) − ∇L(θ−εv)) / 2ε, "
        + "ε = relativeStep·max(‖θ‖, 1)/‖v‖"

    public init(loss: FixedBatchLoss, relativeStep: Double = 1e-3) {
        precondition(relativeStep > 0, "relativeStep must be positive")
        self.loss = loss
        self.relativeStep = relativeStep
        var flat = [Float]()
        flat.reserveCapacity(loss.dimension)
        for parameter in loss.parameters { flat.append(contentsOf: UnsafeBufferPointer(start: parameter.data, count: parameter.count)) }
        origin = flat
        parameterNorm = flat.withUnsafeBufferPointer { FlatVector.norm($0) }
        difference = [Double](repeating: 0, count: loss.dimension)
    }

    public var dimension: Int { loss.dimension }

    /// The step ε for a direction of norm `vectorNorm`.
    public func step(forVectorNorm vectorNorm: Double) -> Double { relativeStep * max(parameterNorm, 1) / vectorNorm }

    /// Hv for `vector` (θ's order). A zero vector gives zeros without evaluating anything.
    public func apply(_ vector: [Float]) -> [Float] {
        precondition(vector.count == dimension, "vector of \(vector.count) for \(dimension) parameters")
        let vectorNorm = vector.withUnsafeBufferPointer { FlatVector.norm($0) }
        guard vectorNorm > 0 else { return vector }
        let epsilon = step(forVectorNorm: vectorNorm)
        defer { restore() }
        difference.withUnsafeMutableBufferPointer { difference in
            difference.update(repeating: 0)
            vector.withUnsafeBufferPointer { v in
                displace(by: epsilon, along: v)
                loss.addGradient(scaledBy: 1, to: difference)
                displace(by: -epsilon, along: v)
                loss.addGradient(scaledBy: -1, to: difference)
            }
        }
        gradientEvaluations += 2
        let scale = 1 / (2 * epsilon)
        return difference.map { Float($0 * scale) }
    }

    /// Sets θ = θ₀ + step · v, each entry rounded once to float32.
    private func displace(by step: Double, along v: UnsafeBufferPointer<Float>) {
        origin.withUnsafeBufferPointer { origin in
            var offset = 0
            for parameter in loss.parameters {
                let data = parameter.data
                for i in 0..<parameter.count {
                    data[i] = Float(Double(origin[offset + i]) + step * Double(v[offset + i]))
                }
                offset += parameter.count
            }
        }
    }

    /// Copies θ₀ back into the parameters.
    private func restore() {
        origin.withUnsafeBufferPointer { origin in
            var offset = 0
            for parameter in loss.parameters {
                parameter.data.update(from: origin.baseAddress! + offset, count: parameter.count)
                offset += parameter.count
            }
        }
    }
}
