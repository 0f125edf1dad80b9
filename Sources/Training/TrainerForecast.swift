import Foundation

extension Trainer {
    /// At an evaluation: predicts the last step's validation loss from the validation curve so far (the rows of
    /// metrics.jsonl and `record`, the row being written) and stores it with its interval (`LearningCurvePrediction`) in `record`. Returns the
    /// console text, empty while the curve is too short to fit. A run initialised from another run's checkpoint
    /// borrows that run's annealing-law shape (`forecastPrior`), as `pretrain predict --prior-run` does.
    func forecastFinalLoss(into record: inout MetricsRecord) -> String {
        let logged = (try? readMetrics(RunDirectory(runDirectory).metrics)) ?? []
        let curve = RunLearningCurve(records: logged.filter { $0.step < record.step } + [record], metric: .valLoss,
                                     schedule: schedule, plannedSteps: recipe.train.steps)
        guard let prediction = try? curve.predict(at: recipe.train.steps, prior: forecastPrior) else { return "" }
        record.predictedFinalLoss = prediction.loss
        record.predictedFinalLow = prediction.low
        record.predictedFinalHigh = prediction.high
        return String(format: " │ final ≈ %.3f [%.3f, %.3f]", prediction.loss, prediction.low, prediction.high)
    }
}
