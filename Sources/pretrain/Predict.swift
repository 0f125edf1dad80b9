import ArgumentParser
import Foundation
import Training

/// `pretrain predict RUN_DIR --at STEP`: fits the run's loss curve so far and predicts the loss at a later step,
/// with an interval, the model chosen and the stopping rule's verdict; `--backtest` checks the method on the run
/// itself (fit the first 30 %, compare with the last loss); given several runs, it also prints the median absolute
/// relative error.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict where a run's loss curve ends (saturating fits), with an interval and a stopping rule.")

    @Argument(help: "Run directory (holds metrics.jsonl; recipe.yaml gives the schedule); several with --backtest.")
    var runDirectories: [String]

    @Option(help: "The step to predict the loss at (default: the run's train.steps).")
    var at: Int?

    @Option(name: .customLong("from-fraction"), help: "Fit only the points up to this fraction of the run's steps (default: all points).")
    var fromFraction: Double?

    @Option(help: "The curve: val_loss or train_loss.")
    var metric: String = "val_loss"

    @Option(help: "The model: auto, area_power_law, annealing, power_law or exponential.")
    var model: String = "auto"

    @Option(help: "Stopping rule: stop when the predicted gain to the target step is below this (nats).")
    var epsilon: Double = 0.01

    @Flag(help: "Fit the first 30 % (or --from-fraction) of the finished curve and compare with its last loss.")
    var backtest = false

    @Option(name: .customLong("prior-run"), help: ArgumentHelp(
        "A finished run of the same model whose whole curve gives the annealing law's shape (its exponent and the loss a decay of the rate buys); only the level is then fitted.",
        discussion: "From 30 % of a cosine run the rate has hardly come down, so the shape cannot be fitted there."))
    var priorRun: String?

    func validate() throws {
        guard LearningCurveMetric(rawValue: metric) != nil else {
            throw ValidationError("--metric must be val_loss or train_loss, got '\(metric)'")
        }
        guard model == "auto" || LearningCurveModel(rawValue: model) != nil else {
            throw ValidationError("--model must be auto, area_power_law, annealing, power_law or exponential, got '\(model)'")
        }
        if let fromFraction, !(fromFraction > 0 && fromFraction <= 1) {
            throw ValidationError("--from-fraction must be in (0, 1], got \(fromFraction)")
        }
        if let at, at < 1 { throw ValidationError("--at must be ≥ 1, got \(at)") }
        guard !runDirectories.isEmpty else { throw ValidationError("give a run directory") }
        guard backtest || runDirectories.count == 1 else { throw ValidationError("several run directories only with --backtest") }
    }

    func run() throws {
        let chosen = LearningCurveModel(rawValue: model)
        let prior = try loadPrior()
        if backtest { return try runBacktests(model: chosen, prior: prior) }
        let runDirectory = runDirectories[0]
        let curve = try RunLearningCurve.load(runDirectory: URL(fileURLWithPath: runDirectory),
                                              metric: LearningCurveMetric(rawValue: metric)!)
        guard let target = at ?? curve.plannedSteps else {
            throw ValidationError("no recipe.yaml in \(runDirectory) to take the final step from; give --at STEP")
        }
        let prediction = try curve.predict(at: target, fittingThrough: fromFraction, model: chosen, prior: prior)
        let fit = prediction.fit
        print(String(format: "%@ at step %d: %.4f, interval [%.4f, %.4f] (residual bootstrap and sub-window fits)", metric, target,
                     prediction.loss, prediction.low, prediction.high))
        if let measured = RunLearningCurve.measured(runDirectory: URL(fileURLWithPath: runDirectory),
                                                    metric: LearningCurveMetric(rawValue: metric)!, at: target) {
            print(String(format: "measured at step %d: %.4f (the run's own evaluation there; not part of the fit)", target, measured))
        }
        var formula = String(format: "a %.4f, b %.4f, c %.4f", fit.a, fit.b, fit.c)
        if fit.model == .annealing { formula += String(format: ", d %.4f", fit.d) }
        print(String(format: "model %@ (%@), fitted to %d points through step %d, rms residual %.4f", fit.model.rawValue,
                     formula, fit.pointCount, prediction.lastStep, fit.rmsResidual))
        if !fit.isDecreasing { print("note: the curve is not decreasing; the prediction is its level") }
        if fit.isDecreasing && fit.c < 0.01 && fit.model != .exponential {
            print("note: c is at its lower bound: over this window the loss falls like a logarithm; a is no floor")
        }
        print(LearningCurve.stoppingDecision(prediction, epsilon: epsilon))
    }

    /// The annealing law's shape from --prior-run, printed; nil without one.
    private func loadPrior() throws -> LearningCurvePrior? {
        guard let priorRun else { return nil }
        let curve = try RunLearningCurve.load(runDirectory: URL(fileURLWithPath: priorRun),
                                              metric: LearningCurveMetric(rawValue: metric)!)
        guard let prior = try curve.annealingPrior() else {
            throw ValidationError("--prior-run \(priorRun): its schedule never decays, so it has no annealing bonus to carry")
        }
        print(String(format: "annealing law from %@: exponent %.4f, bonus %.5f per unit of annealing area", priorRun,
                     prior.exponent, prior.bonusPerArea))
        return prior
    }

    private func runBacktests(model: LearningCurveModel?, prior: LearningCurvePrior?) throws {
        var backtests: [LearningCurveBacktest] = []
        for runDirectory in runDirectories {
            let curve = try RunLearningCurve.load(runDirectory: URL(fileURLWithPath: runDirectory),
                                                  metric: LearningCurveMetric(rawValue: metric)!)
            let result = try curve.backtest(fraction: fromFraction ?? 0.3, model: model, prior: prior)
            backtests.append(result)
            print(String(format: "%@: backtest on %@ (%@): fitted steps ≤ %d (%.0f %%), predicted step %d: %.4f [%.4f, %.4f], "
                + "actual %.4f, relative error %+.2f %%", runDirectory, metric, result.prediction.fit.model.rawValue,
                result.prediction.lastStep, 100 * result.fraction, result.finalStep, result.prediction.loss,
                result.prediction.low, result.prediction.high, result.actual, 100 * result.relativeError))
        }
        if backtests.count > 1 {
            print(String(format: "median absolute relative error over %d runs: %.2f %%", backtests.count,
                         100 * LearningCurveBacktest.medianAbsoluteRelativeError(backtests)))
        }
    }
}
