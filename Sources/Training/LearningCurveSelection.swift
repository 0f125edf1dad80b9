import Foundation

extension LearningCurve {
    /// The model used when none is named.
    ///
    /// With the schedule known: the area power law. On our runs (docs/LEARNING_CURVES.md) it extrapolates from 30 %
    /// of a curve better than the step laws, and better than the full annealing law, whose bonus coefficient d is
    /// not identified before the decay is well under way (from the first 30 % of a cosine run it comes out several
    /// times too large). Without the schedule: the power law or the exponential, whichever extrapolates better —
    /// each is fitted to all points but the last quarter and scored on that held-out tail; with too few points to
    /// spare a tail, the lower sum of squares on all points decides (equal parameter counts, so also the lower AIC).
    static func chooseModel(steps: [Int], losses: [Double], areas: LearningRateAreas?) -> LearningCurveModel? {
        if let areas, let last = steps.last, areas.steps >= last { return .areaPowerLaw }
        let models: [LearningCurveModel] = [.powerLaw, .exponential]
        let held = max(2, steps.count / 4)
        let head = steps.count - held >= minimumPoints ? steps.count - held : steps.count
        let scores = models.map { model -> Double in
            guard let fit = LearningCurveFitter.fit(model, steps: Array(steps[..<head]), losses: Array(losses[..<head]),
                                                    areas: nil) else { return .infinity }
            let scored = head < steps.count ? head..<steps.count : 0..<steps.count
            return scored.reduce(0.0) { $0 + pow(losses[$1] - fit.loss(atStep: steps[$1]), 2) }
        }
        guard let best = scores.indices.min(by: { scores[$0] < scores[$1] }), scores[best].isFinite else { return nil }
        return models[best]
    }
}
