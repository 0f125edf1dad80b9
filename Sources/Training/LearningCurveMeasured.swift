import Foundation

extension RunLearningCurve {
    /// The metric as the run measured it at `step` (its metrics.jsonl row), nil when the run has not logged it. For
    /// val_loss at the run's last step this is the final evaluation over the whole split, which the fit leaves out
    /// (periodic evaluations read only train.eval_batches batches): `pretrain predict` prints it beside the prediction.
    public static func measured(runDirectory: URL, metric: LearningCurveMetric, at step: Int) -> Double? {
        guard let rows = try? readMetrics(RunDirectory(runDirectory).metrics) else { return nil }
        return rows.last { $0.step == step }.flatMap(metric.value)
    }
}
