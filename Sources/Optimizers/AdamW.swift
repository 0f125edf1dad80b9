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

    public func step() {
        stepCount += 1
        let t = Float(stepCount)
        let correction1 = 1 - pow(beta1, t)
        let correction2Root = (1 - pow(beta2, t)).squareRoot()
        let b1 = beta1, b2 = beta2, eps = epsilon
        var index = 0
        for group in groups {
            let lr = learningRate * group.learningRateScale
            let decay = 1 - lr * group.weightDecay
            let stepSize = lr / correction1
            for (_, parameter) in group.parameters {
                defer { index += 1 }
                guard let grad = parameter.grad else { continue }
                let p = parameter.data, g = grad.data, m = moments[index].m.data, v = moments[index].v.data
                parallelFor(parameter.count, grain: 1 << 15) { range in
                    for i in range {
                        let gi = g[i]
                        p[i] *= decay
                        m[i] = b1 * m[i] + (1 - b1) * gi
                        v[i] = b2 * v[i] + (1 - b2) * gi * gi
                        p[i] -= stepSize * m[i] / (v[i].squareRoot() / correction2Root + eps)
                    }
                }
            }
        }
    }

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
