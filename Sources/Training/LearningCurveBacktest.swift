import Foundation

/// A prediction of a finished curve's last loss from its beginning, against the loss it actually reached.
public struct LearningCurveBacktest {
    /// The share of the run's steps fitted.
    public let fraction: Double
    public let prediction: LearningCurvePrediction
    public let actual: Double
    /// (predicted − actual) / actual.
    public var relativeError: Double { (prediction.loss - actual) / actual }
    public var finalStep: Int { prediction.targetStep }
}

extension LearningCurve {
    /// Fits the points up to `fraction` (30 % by default) of the run's steps and predicts the last point. `runSteps`:
    /// the run's length when the curve's last point is not its last step (default: the last point's step).
    public static func backtest(steps: [Int], losses: [Double], fraction: Double = 0.3, model: LearningCurveModel? = nil,
                                areas: LearningRateAreas? = nil, prior: LearningCurvePrior? = nil,
                                runSteps: Int? = nil) throws -> LearningCurveBacktest {
        guard fraction > 0 && fraction < 1 else { throw LearningCurveError("the fitted fraction must be in (0, 1), got \(fraction)") }
        let (allSteps, allLosses) = try cleaned(steps: steps, losses: losses)
        let finalStep = allSteps.last!
        let head = allSteps.indices.filter { Double(allSteps[$0]) <= fraction * Double(runSteps ?? finalStep) }
        guard head.count < allSteps.count else { throw LearningCurveError("no point after the fitted fraction to check") }
        let prediction = try predict(steps: head.map { allSteps[$0] }, losses: head.map { allLosses[$0] }, at: finalStep,
                                     model: model, areas: areas, prior: prior)
        return LearningCurveBacktest(fraction: fraction, prediction: prediction, actual: allLosses.last!)
    }
}
