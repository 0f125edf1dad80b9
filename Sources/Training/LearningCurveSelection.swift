import Foundation

extension LearningCurve {
    /// The models tried when none is named: the annealing law when the schedule is known, the step-based laws
    /// always.
    static func candidates(areas: LearningRateAreas?) -> [LearningCurveModel] {
        areas == nil ? [.powerLaw, .exponential] : [.annealing, .powerLaw, .exponential]
    }

    /// The candidate that extrapolates best: each is fitted to all points but the last quarter and scored by its
    /// mean squared error on that held-out tail (what a prediction does). With fewer than `minimumPoints` + 2 points
    /// there is no tail to spare, and the lowest AIC on all points decides.
    static func chooseModel(steps: [Int], losses: [Double], areas: LearningRateAreas?) -> LearningCurveModel? {
        let models = candidates(areas: areas)
        let held = max(2, steps.count / 4)
        if steps.count - held >= minimumPoints {
            let head = steps.count - held
            let scores = models.map { model -> Double in
                guard let fit = LearningCurveFitter.fit(model, steps: Array(steps[..<head]), losses: Array(losses[..<head]),
                                                        areas: areas) else { return .infinity }
                return (head..<steps.count).reduce(0.0) { $0 + pow(losses[$1] - fit.loss(atStep: steps[$1]), 2) }
            }
            if let best = scores.indices.min(by: { scores[$0] < scores[$1] }), scores[best].isFinite { return models[best] }
        }
        let aic = models.map { model -> Double in
            guard let fit = LearningCurveFitter.fit(model, steps: steps, losses: losses, areas: areas) else { return .infinity }
            let n = Double(steps.count)
            return n * log(max(fit.rmsResidual * fit.rmsResidual, 1e-300)) + 2 * Double(model.parameterCount)
        }
        guard let best = aic.indices.min(by: { aic[$0] < aic[$1] }), aic[best].isFinite else { return nil }
        return models[best]
    }
}
