/// Finite-difference check of an op's gradients.
///
/// Projects the output on a fixed random direction r (loss = Σ f(x)·r), then compares the tape's
/// gradient of every input with central differences (f(x+h) − f(x−h)) / 2h, element by element.
/// Returns the largest error, each measured as |analytic − numeric| / max(1, |numeric|).
public func maxGradientError(inputs: [Tensor], step: Float = 1e-2, seed: UInt64 = 7,
                             _ function: ([Tensor]) -> Tensor) -> Float {
    var generator = RandomGenerator(seed: seed)
    for input in inputs { input.requiresGrad = true; input.zeroGrad() }
    let probe = function(inputs)
    let direction = Tensor.normal(probe.shape, generator: &generator)
    Autograd.backward(probe, seed: direction)
    func projected() -> Double {
        noGrad {
            let y = function(inputs)
            var total = 0.0
            for i in 0..<y.count { total += Double(y.data[i]) * Double(direction.data[i]) }
            return total
        }
    }
    var worst: Float = 0
    for input in inputs {
        let analytic = input.grad?.scalars ?? [Float](repeating: 0, count: input.count)
        for i in 0..<input.count {
            let saved = input.data[i]
            input.data[i] = saved + step
            let plus = projected()
            input.data[i] = saved - step
            let minus = projected()
            input.data[i] = saved
            let numeric = Float((plus - minus) / (2 * Double(step)))
            worst = max(worst, abs(analytic[i] - numeric) / max(1, abs(numeric)))
        }
    }
    return worst
}
