import Foundation

extension RunLearningCurve {
    /// Predicts the loss at `step` from the points through `fraction` of the run's planned steps (of its last
    /// point's step when the recipe is unknown), as `pretrain predict --from-fraction` does; nil fits every point.
    public func predict(at step: Int, fittingThrough fraction: Double?, model: LearningCurveModel? = nil,
                        prior: LearningCurvePrior? = nil) throws -> LearningCurvePrediction {
        var (fitted, values) = (steps, losses)
        if let fraction, let last = steps.last {
            let kept = steps.indices.filter { Double(steps[$0]) <= fraction * Double(plannedSteps ?? last) }
            (fitted, values) = (kept.map { steps[$0] }, kept.map { losses[$0] })
        }
        return try LearningCurve.predict(steps: fitted, losses: values, at: step, model: model,
                                         areas: areas(through: max(step, fitted.last ?? 0)), prior: prior)
    }
}

extension LearningCurveBacktest {
    /// The median of the absolute relative errors of several runs' backtests: how far the method is off on a
    /// typical run (the mean would follow one bad fit).
    public static func medianAbsoluteRelativeError(_ backtests: [LearningCurveBacktest]) -> Double {
        let sorted = backtests.map { abs($0.relativeError) }.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
