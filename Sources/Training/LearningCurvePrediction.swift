import Foundation
import Tensors

/// A curve that cannot be fitted (too few points, a bad target); the message says why.
public struct LearningCurveError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
    init(_ message: String) { self.message = message }
}

/// The loss a fitted curve predicts at a later step.
///
/// The interval joins two spreads: a residual bootstrap (the fit's residuals resampled onto the fitted curve, the
/// model refitted to each resample, the 5th and 95th percentiles of the predictions: the noise around the curve)
/// and the predictions of the fits on the sub-windows without the first and without the last point (how much the
/// extrapolation hangs on the ends of a short window). It does not cover a wrong model choice.
public struct LearningCurvePrediction {
    public let targetStep: Int
    public let loss: Double
    public let low: Double
    public let high: Double
    public let fit: LearningCurveFit
    /// The last point fitted.
    public let lastStep: Int
    public let lastLoss: Double
}

public enum LearningCurve {
    /// Fewer points than this leave too little to tell a saturating curve from noise.
    public static let minimumPoints = 5
    public static let bootstrapResamples = 200

    /// Fits `model` (nil: the best of the candidates, `chooseModel`) to (step, loss) points. `areas`, the
    /// schedule's, enables the annealing model. Non-finite losses are dropped; a point whose residual is beyond
    /// four robust standard deviations (a loss spike) is dropped and the fit repeated once. `prior`: the
    /// annealing law's shape carried from a finished run (`RunLearningCurve.annealingPrior`); with it the default
    /// model is the annealing law with that shape fixed.
    public static func fit(steps: [Int], losses: [Double], model: LearningCurveModel? = nil,
                           areas: LearningRateAreas? = nil, prior: LearningCurvePrior? = nil) throws -> LearningCurveFit {
        let (steps, losses) = try cleaned(steps: steps, losses: losses)
        let defaultModel: LearningCurveModel? = prior != nil && areas != nil ? .annealing : nil
        guard let model = model ?? defaultModel ?? chooseModel(steps: steps, losses: losses, areas: areas) else {
            throw LearningCurveError("no model could be fitted to the \(steps.count) points")
        }
        guard let first = LearningCurveFitter.fit(model, steps: steps, losses: losses, areas: areas, prior: prior) else {
            throw LearningCurveError(model.readsSchedule && areas == nil
                ? "the \(model.rawValue) model needs the learning-rate schedule (the run's recipe.yaml)"
                : "the \(model.rawValue) model could not be fitted to the \(steps.count) points")
        }
        let residuals = zip(steps, losses).map { $1 - first.loss(atStep: $0) }
        let spread = 1.4826 * median(residuals.map(abs))
        let kept = residuals.indices.filter { spread == 0 || abs(residuals[$0]) <= 4 * spread }
        guard kept.count < steps.count, kept.count >= minimumPoints,
              let refit = LearningCurveFitter.fit(model, steps: kept.map { steps[$0] }, losses: kept.map { losses[$0] },
                                                  areas: areas, prior: prior) else { return first }
        return refit
    }

    /// The loss at `targetStep` from the points so far, with a residual-bootstrap interval (deterministic:
    /// seeded by `seed`).
    public static func predict(steps: [Int], losses: [Double], at targetStep: Int, model: LearningCurveModel? = nil,
                               areas: LearningRateAreas? = nil, prior: LearningCurvePrior? = nil,
                               seed: UInt64 = 1) throws -> LearningCurvePrediction {
        let fit = try fit(steps: steps, losses: losses, model: model, areas: areas, prior: prior)
        let (steps, losses) = try cleaned(steps: steps, losses: losses)
        guard targetStep >= steps.last! else {
            throw LearningCurveError("the target step \(targetStep) is before the last point (step \(steps.last!))")
        }
        if fit.model.readsSchedule, let areas, areas.steps < targetStep {
            throw LearningCurveError("the schedule reaches step \(areas.steps), not the target step \(targetStep)")
        }
        let fitted = steps.map(fit.loss(atStep:))
        let residuals = zip(losses, fitted).map { $0 - $1 }
        var generator = RandomGenerator(seed: seed)
        var predictions: [Double] = []
        for _ in 0..<bootstrapResamples {
            let resample = fitted.map { $0 + residuals[generator.nextInt(below: residuals.count)] }
            if let refit = LearningCurveFitter.fit(fit.model, steps: steps, losses: resample, areas: areas, prior: prior) {
                predictions.append(refit.loss(atStep: targetStep))
            }
        }
        predictions.sort()
        let point = fit.loss(atStep: targetStep)
        var range = [point]
        if !predictions.isEmpty {
            range += [predictions[Int(0.05 * Double(predictions.count - 1))], predictions[Int(0.95 * Double(predictions.count - 1))]]
        }
        if steps.count > minimumPoints {
            for window in [1..<steps.count, 0..<(steps.count - 1)] {
                if let subFit = LearningCurveFitter.fit(fit.model, steps: Array(steps[window]), losses: Array(losses[window]),
                                                        areas: areas, prior: prior) {
                    range.append(subFit.loss(atStep: targetStep))
                }
            }
        }
        let (low, high) = (range.min()!, range.max()!)
        return LearningCurvePrediction(targetStep: targetStep, loss: point, low: low, high: high, fit: fit,
                                       lastStep: steps.last!, lastLoss: losses.last!)
    }

    /// Finite points in step order, at least `minimumPoints` of them.
    static func cleaned(steps: [Int], losses: [Double]) throws -> (steps: [Int], losses: [Double]) {
        guard steps.count == losses.count else {
            throw LearningCurveError("\(steps.count) steps but \(losses.count) losses")
        }
        let points = zip(steps, losses).filter { $0.1.isFinite && $0.0 > 0 }.sorted { $0.0 < $1.0 }
        guard points.count >= minimumPoints else {
            throw LearningCurveError("\(points.count) usable point\(points.count == 1 ? "" : "s") on the curve; "
                + "a fit needs at least \(minimumPoints)")
        }
        return (points.map(\.0), points.map(\.1))
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
