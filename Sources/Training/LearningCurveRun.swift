import Foundation
import Optimizers

/// Which logged loss a curve follows: the main validation loss (evaluation rows) or the training loss (every row,
/// each the mean over the steps since the previous row, so already smoothed).
public enum LearningCurveMetric: String, CaseIterable {
    case valLoss = "val_loss"
    case trainLoss = "train_loss"

    func value(_ record: MetricsRecord) -> Double? {
        self == .valLoss ? record.valLoss : record.loss
    }
}

/// The curve of one metric of a run, with the run's schedule when its recipe is known.
///
/// Points within the schedule's warmup are left out: the loss there falls through the early plateau (unigram
/// statistics first) rather than along a saturating law, and a rewarm raises it first (Gupta et al., 2023).
public struct RunLearningCurve {
    public let steps: [Int]
    public let losses: [Double]
    /// The schedule the run follows (RUN/recipe.yaml), nil when unknown: the learning-rate-area models are then out.
    public let schedule: LearningRateSchedule?
    /// The run's planned last step (train.steps), nil when unknown.
    public let plannedSteps: Int?

    public init(records: [MetricsRecord], metric: LearningCurveMetric, schedule: LearningRateSchedule?, plannedSteps: Int?) {
        let warmup = schedule?.warmupSteps ?? 0
        let points = records.compactMap { record in metric.value(record).map { (record.step, $0) } }.filter { $0.0 > warmup }
        steps = points.map(\.0)
        losses = points.map(\.1)
        self.schedule = schedule
        self.plannedSteps = plannedSteps
    }

    /// Reads RUN/metrics.jsonl and, when present, RUN/recipe.yaml. Errors name the missing or empty file.
    public static func load(runDirectory: URL, metric: LearningCurveMetric) throws -> RunLearningCurve {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: runDirectory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw LearningCurveError("\(runDirectory.path): no such run directory")
        }
        let metricsURL = RunDirectory(runDirectory).metrics
        guard FileManager.default.fileExists(atPath: metricsURL.path) else {
            throw LearningCurveError("\(metricsURL.path): no metrics log (is this a run directory?)")
        }
        let records = try readMetrics(metricsURL)
        guard !records.isEmpty else { throw LearningCurveError("\(metricsURL.path): the metrics log is empty") }
        let recipeURL = RunDirectory(runDirectory).recipe
        let recipe = FileManager.default.fileExists(atPath: recipeURL.path) ? try Recipe.load(recipeURL) : nil
        // The last evaluation reads the whole validation split, the periodic ones only train.eval_batches batches
        // of it: a different measurement, left out of the curve.
        let lastIsFull = metric == .valLoss && (recipe?.train.evalBatches ?? 0) > 0
        let comparable = records.filter { !(lastIsFull && $0.step == recipe?.train.steps) }
        let curve = RunLearningCurve(records: comparable, metric: metric, schedule: try recipe?.learningRateSchedule(),
                                     plannedSteps: recipe?.train.steps)
        guard !curve.steps.isEmpty else {
            throw LearningCurveError("\(metricsURL.path): no row after the warmup holds \(metric.rawValue)")
        }
        return curve
    }

    /// The schedule's areas through `step`, nil without a schedule.
    public func areas(through step: Int) -> LearningRateAreas? {
        schedule.map { LearningRateAreas(schedule: $0, steps: step) }
    }

    public func predict(at step: Int, model: LearningCurveModel? = nil, prior: LearningCurvePrior? = nil) throws -> LearningCurvePrediction {
        try LearningCurve.predict(steps: steps, losses: losses, at: step, model: model, areas: areas(through: step),
                                  prior: prior)
    }

    public func backtest(fraction: Double = 0.3, model: LearningCurveModel? = nil,
                         prior: LearningCurvePrior? = nil) throws -> LearningCurveBacktest {
        try LearningCurve.backtest(steps: steps, losses: losses, fraction: fraction, model: model,
                                   areas: areas(through: steps.last ?? 0), prior: prior, runSteps: plannedSteps)
    }

    /// The annealing law's shape of the run `checkpoint` was saved by (RUN/checkpoints/step_N → RUN), for a run
    /// initialised from it; nil when that run has no metrics log, no decaying schedule or no fit.
    public static func annealingPrior(ofRunSaving checkpoint: URL) -> LearningCurvePrior? {
        let run = RunDirectory(ofCheckpoint: checkpoint)
        guard run.holds(checkpoint), let curve = try? load(runDirectory: run.url, metric: .valLoss) else { return nil }
        return (try? curve.annealingPrior()) ?? nil
    }

    /// The annealing law's shape (exponent and bonus per unit of annealing area) fitted to this whole finished
    /// curve, where the decay is seen. A later run of the same model borrows it and fits only its own level: Tissue
    /// et al. (2024) fit the law once and predict other schedules with it. nil when the schedule never decays.
    public func annealingPrior() throws -> LearningCurvePrior? {
        guard let last = steps.last, let areas = areas(through: last), areas.annealing[last] > 0 else { return nil }
        let fit = try LearningCurve.fit(steps: steps, losses: losses, model: .annealing, areas: areas)
        return LearningCurvePrior(exponent: fit.c, bonusPerArea: fit.d / fit.scale)
    }
}

extension LearningRateSchedule {
    /// Steps of the linear warmup the schedule starts with.
    var warmupSteps: Int {
        switch self {
        case let .constant(_, warmup), let .cosine(_, _, warmup, _), let .wsd(_, _, warmup, _, _),
             let .infinite(_, _, _, warmup, _, _, _, _), let .repeatedCosine(_, _, warmup, _):
            return warmup
        }
    }
}
