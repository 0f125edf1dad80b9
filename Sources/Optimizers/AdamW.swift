import Foundation
import Layers
import Tensors

/// Adam with decoupled weight decay (Loshchilov & Hutter, 2019), update order as torch.optim.AdamW:
/// p ← p·(1 − lr·wd); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε).
public final class AdamW: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    public let groups: [ParameterGroup]
    public private(set) var stepCount = 0
    /// First and second moments, one pair per parameter, in group order.
    private var moments: [(m: Tensor, v: Tensor)]

    public init(groups: [ParameterGroup], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8) {
        self.groups = groups
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        moments = groups.flatMap { $0.parameters.map { (Tensor(zeros: $0.tensor.shape), Tensor(zeros: $0.tensor.shape)) } }
    }

    /// Decay for rank ≥ 2 parameters only (see `ParameterGroup.decayByRank`).
    public convenience init(model: Module, learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999,
                            epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.init(groups: ParameterGroup.decayByRank(model, weightDecay: weightDecay), learningRate: learningRate,
                  beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    /// Multi-tensor: every parameter's elements are cut into chunks of at most 32,768 once, and one parallel loop
    /// runs over all the chunks, so that small tensors (biases, norms) share the threads with large ones instead
    /// of each running alone. Each element gets the scalar formula's operations in its order, 8 or 16 lanes at a
    /// time, so the result is the same bit for bit (the PyTorch fixture test holds it to torch.optim.AdamW).
    public func step(gradientScale: Float) {
        stepCount += 1
        let t = Float(stepCount)
        let correction1 = 1 - pow(beta1, t)
        let correction2Root = (1 - pow(beta2, t)).squareRoot()
        let settings = groups.map { group -> (decay: Float, stepSize: Float) in
            let lr = learningRate * group.learningRateScale
            return (1 - lr * group.weightDecay, lr / correction1)
        }
        let parameters = groups.flatMap { $0.parameters.map(\.tensor) }
        let gradients = parameters.map { $0.grad?.data }
        let b1 = FloatVector(repeating: beta1), b2 = FloatVector(repeating: beta2)
        let oneMinusB1 = FloatVector(repeating: 1 - beta1), oneMinusB2 = FloatVector(repeating: 1 - beta2)
        let eps = FloatVector(repeating: epsilon), c2 = FloatVector(repeating: correction2Root)
        let scale = FloatVector(repeating: gradientScale), scaled = gradientScale != 1
        let chunks = self.chunks
        parallelFor(chunks.count) { items in
            for item in items {
                let chunk = chunks[item]
                guard let g = gradients[chunk.parameter] else { continue }
                let (decay, stepSize) = settings[chunk.group]
                let p = parameters[chunk.parameter].data + chunk.start, gradient = g + chunk.start
                let m = moments[chunk.parameter].m.data + chunk.start, v = moments[chunk.parameter].v.data + chunk.start
                let decayVector = FloatVector(repeating: decay), stepVector = FloatVector(repeating: stepSize)
                forEachVector(chunk.count) { i, lanes in
                    var gi = (gradient + i).loadVector(lanes)
                    if scaled { gi = gi * scale }
                    let pi = (p + i).loadVector(lanes) * decayVector
                    let mi = b1 * (m + i).loadVector(lanes) + oneMinusB1 * gi
                    let vi = b2 * (v + i).loadVector(lanes) + oneMinusB2 * gi * gi
                    (m + i).storeVector(mi, lanes)
                    (v + i).storeVector(vi, lanes)
                    (p + i).storeVector(pi - stepVector * mi / (vi.squareRoot() / c2 + eps), lanes)
                }
            }
        }
    }

    /// (group, parameter index in group order, first element, element count) of every chunk of every parameter.
    private lazy var chunks: [(group: Int, parameter: Int, start: Int, count: Int)] = {
        var result: [(group: Int, parameter: Int, start: Int, count: Int)] = []
        var index = 0
        for (groupIndex, group) in groups.enumerated() {
            for (_, tensor) in group.parameters {
                for start in stride(from: 0, to: tensor.count, by: 1 << 15) {
                    result.append((groupIndex, index, start, min(1 << 15, tensor.count - start)))
                }
                index += 1
            }
        }
        return result
    }()

    public func stateTensors() -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        var index = 0
        for group in groups {
            for (name, _) in group.parameters {
                result["exp_avg.\(name)"] = moments[index].m
                result["exp_avg_sq.\(name)"] = moments[index].v
                index += 1
            }
        }
        return result
    }

    public func loadState(_ state: [String: Tensor], stepCount: Int) throws {
        let expected = groups.flatMap { group in
            group.parameters.flatMap { [("exp_avg.\($0.name)", $0.tensor.shape), ("exp_avg_sq.\($0.name)", $0.tensor.shape)] }
        }
        let problems = expected.compactMap { key, shape -> String? in
            guard let source = state[key] else { return "missing \(key)" }
            return source.shape == shape ? nil : "\(key): saved \(source.shape), parameter \(shape)"
        }
        guard problems.isEmpty else {
            throw OptimizerStateError(message: "AdamW state does not match the model: " + problems.joined(separator: "; "))
        }
        for (index, moment) in moments.enumerated() {
            let mKey = expected[2 * index].0, vKey = expected[2 * index + 1].0
            moment.m.data.update(from: state[mKey]!.data, count: moment.m.count)
            moment.v.data.update(from: state[vKey]!.data, count: moment.v.count)
        }
        self.stepCount = stepCount
    }
}
