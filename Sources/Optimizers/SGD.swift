import Layers
import Tensors

/// SGD with momentum as torch.optim.SGD (dampening 0): g ← g + wd·p; b ← μb + g; p ← p − lr·(nesterov ? g + μb : b).
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public let groups: [ParameterGroup]
    public private(set) var stepCount = 0
    private var buffers: [Tensor]

    public init(groups: [ParameterGroup], learningRate: Float, momentum: Float = 0, nesterov: Bool = false) {
        self.groups = groups
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        buffers = groups.flatMap { $0.parameters.map { Tensor(zeros: $0.tensor.shape) } }
    }

    public func step(gradientScale: Float) {
        let mu = momentum, firstStep = stepCount == 0, useNesterov = nesterov, scale = gradientScale
        stepCount += 1
        var index = 0
        for group in groups {
            let lr = learningRate * group.learningRateScale, wd = group.weightDecay
            for (_, parameter) in group.parameters {
                defer { index += 1 }
                guard let grad = parameter.grad else { continue }
                let p = parameter.data, g = grad.data, b = buffers[index].data
                parallelFor(parameter.count, grain: 1 << 15) { range in
                    for i in range {
                        let gi = (scale == 1 ? g[i] : g[i] * scale) + wd * p[i]
                        guard mu != 0 else { p[i] -= lr * gi; continue }
                        // torch initialises the buffer with the first gradient.
                        b[i] = firstStep ? gi : mu * b[i] + gi
                        p[i] -= lr * (useNesterov ? gi + mu * b[i] : b[i])
                    }
                }
            }
        }
    }

    public func stateTensors() -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        var index = 0
        for group in groups {
            for (name, _) in group.parameters { result["momentum_buffer.\(name)"] = buffers[index]; index += 1 }
        }
        return result
    }

    public func loadState(_ state: [String: Tensor], stepCount: Int) throws {
        var index = 0
        for group in groups {
            for (name, parameter) in group.parameters {
                let key = "momentum_buffer.\(name)"
                guard let source = state[key], source.shape == parameter.shape else {
                    throw OptimizerStateError(message: "SGD state: \(key) missing or not of shape \(parameter.shape)")
                }
                buffers[index].data.update(from: source.data, count: parameter.count)
                index += 1
            }
        }
        self.stepCount = stepCount
    }
}
