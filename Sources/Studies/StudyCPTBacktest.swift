import Foundation
import Training

/// The learning-curve backtest of one run (issue 5, item 4): the val-loss curve's first 30 % fitted, its final
/// loss predicted and compared with the one measured.
public struct StudyBacktest: Codable, Equatable {
    public var model: String
    public var predicted: Double
    public var actual: Double
    public var relativeError: Double { (predicted - actual) / actual }

    public init(model: String, predicted: Double, actual: Double) {
        self.model = model
        self.predicted = predicted
        self.actual = actual
    }
}

public enum StudyBacktester {
    public static let fraction = 0.3

    /// What `pretrain predict RUN --backtest --from-fraction 0.3 [--prior-run PRIOR]` computes, on the val-loss
    /// curve. `priorRun`: a finished run of the same model (the upstream pre-training, for the arms) whose whole
    /// curve gives the annealing bonus: from 30 % of an arm the coming decay's gain cannot be fitted, from the
    /// upstream run's finished cosine it can. nil when a curve cannot be read or fitted (or the prior run never
    /// decays); the table then says so.
    public static func backtest(runDirectory: URL, priorRun: URL? = nil) -> StudyBacktest? {
        do {
            var prior: LearningCurvePrior?
            if let priorRun {
                prior = try RunLearningCurve.load(runDirectory: priorRun, metric: .valLoss).annealingPrior()
                if prior == nil { return nil }
            }
            let curve = try RunLearningCurve.load(runDirectory: runDirectory, metric: .valLoss)
            let result = try curve.backtest(fraction: fraction, prior: prior)
            return StudyBacktest(model: result.prediction.fit.model.rawValue, predicted: result.prediction.loss,
                                 actual: result.actual)
        } catch {
            return nil
        }
    }
}
