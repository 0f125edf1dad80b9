import ArgumentParser
import Foundation
import Optimizers
import Tensors
import Training

/// `pretrain anneal RUN_DIR --from-step S --steps N [--shape linear|cosine] [--min-lr X]`.
struct Anneal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anneal",
        abstract: "Branch a decayed model from a checkpoint of an infinite-schedule run, without touching the run.",
        discussion: """
            Continues the run's checkpoint at step S (weights, optimiser, data order, random streams) for N steps with \
            the learning rate annealed from the constant phase to --min-lr, into RUN_DIR/anneals/from_S_steps_N/ \
            (its own metrics.jsonl, checkpoints and recipe.yaml). Relative data paths are read as in the main run: \
            run it from the same directory.
            """)

    @Argument(help: "Run directory of an infinite-schedule run (schedule.kind: infinite).")
    var runDirectory: String

    @Option(name: .customLong("from-step"), help: "The step of the checkpoint to branch from.")
    var fromStep: Int

    @Option(help: "Steps of the anneal.")
    var steps: Int

    @Option(help: "Shape of the decay: linear or cosine.")
    var shape: String = "linear"

    @Option(name: .customLong("min-lr"), help: "Learning rate at the end of the anneal (default: the recipe's schedule.min_lr, else 0).")
    var minLR: Float?

    func validate() throws {
        if LearningRateSchedule.AnnealShape(rawValue: shape) == nil { throw ValidationError("--shape must be linear or cosine") }
        if steps < 1 { throw ValidationError("--steps must be ≥ 1") }
        if fromStep < 0 { throw ValidationError("--from-step must be ≥ 0") }
        if let minLR, !(minLR >= 0) { throw ValidationError("--min-lr must be ≥ 0") }
    }

    func run() throws {
        let branch = try AnnealBranch(runDirectory: URL(fileURLWithPath: runDirectory), fromStep: fromStep, steps: steps,
                                      shape: LearningRateSchedule.AnnealShape(rawValue: shape)!, minLR: minLR)
        if let threads = branch.recipe.train.threads { Runtime.configure(threads: threads) }
        let trainer = try branch.trainer(corpus: try TrainingCorpus.load(branch.recipe.data))
        let interrupt = InterruptFlag()
        trainer.shouldStop = { interrupt.isSet }
        let summary = try trainer.run()
        trainer.console.finish()
        if summary.finished, let evaluation = summary.evaluation {
            print(String(format: "anneal: step %d │ val loss %.4f │ ppl %.2f", summary.step, evaluation.loss, evaluation.perplexity))
        }
        print("anneal directory: \(branch.directory.path)")
    }
}
