import Foundation

/// The stopping rule: stop when the loss the fitted curve still promises between the current step and a later
/// step is below ε. The decision uses the point prediction; `optimisticGain` (to the low end of the interval) says
/// how much a lucky continuation could still bring.
public struct StoppingDecision: CustomStringConvertible {
    public let stop: Bool
    public let currentStep: Int
    public let horizonStep: Int
    /// The fitted loss now and the predicted loss at the horizon.
    public let lossNow: Double
    public let lossAtHorizon: Double
    /// lossNow − lossAtHorizon, and lossNow − the interval's low end at the horizon.
    public let gain: Double
    public let optimisticGain: Double
    public let epsilon: Double

    public var description: String {
        let verdict = stop ? "stop" : "continue"
        return String(format: "%@: predicted gain from step %d to step %d is %.4f (up to %.4f) %@ ε = %.4f", verdict,
                      currentStep, horizonStep, gain, optimisticGain, stop ? "<" : "≥", epsilon)
    }
}

extension LearningCurve {
    /// Applies the stopping rule to a prediction made at `prediction.targetStep` (the horizon), from the curve's
    /// last point. The loss "now" is the fitted curve's, not the last noisy point's.
    public static func stoppingDecision(_ prediction: LearningCurvePrediction, epsilon: Double) -> StoppingDecision {
        let now = prediction.fit.loss(atStep: prediction.lastStep)
        let gain = now - prediction.loss
        return StoppingDecision(stop: gain < epsilon, currentStep: prediction.lastStep, horizonStep: prediction.targetStep,
                                lossNow: now, lossAtHorizon: prediction.loss, gain: gain,
                                optimisticGain: now - prediction.low, epsilon: epsilon)
    }
}
