import Foundation
import Optimizers

/// `pretrain anneal RUN --from-step S --steps N`: a decayed branch of an infinite-schedule run (Singh et al., 2025;
/// Hägele et al., 2024): the run's checkpoint at step S — weights, optimiser moments, data position, random
/// streams — continued for N steps with the schedule's anneal to min_lr starting at S, into
/// RUN/anneals/from_S_steps_N/, a run directory of its own (metrics.jsonl, checkpoints, recipe.yaml; continue an
/// interrupted one with `pretrain train --resume` on it). The main run's files are only read.
public struct AnnealBranch {
    public let runDirectory: URL
    /// The main run's checkpoint at the branch step.
    public let checkpoint: URL
    /// RUN/anneals/from_S_steps_N.
    public let directory: URL
    /// The main run's recipe with the anneal set and `train.steps` = S + N.
    public let recipe: Recipe

    public init(runDirectory: URL, fromStep: Int, steps: Int, shape: LearningRateSchedule.AnnealShape = .linear,
                minLR: Float? = nil) throws {
        let run = RunDirectory(runDirectory)
        let recipeURL = try run.storedRecipe()
        guard steps >= 1 else { throw TrainingError("--steps must be ≥ 1, got \(steps)") }
        var recipe = try Recipe.load(recipeURL)
        guard recipe.schedule.kind == .infinite else {
            throw TrainingError("\(runDirectory.path) was trained with a \(recipe.schedule.kind.rawValue) schedule; "
                + "pretrain anneal branches runs of the infinite schedule (schedule.kind: infinite), whose constant "
                + "phase can be decayed from any checkpoint")
        }
        if let ownAnneal = recipe.schedule.annealStart, fromStep >= ownAnneal {
            throw TrainingError("step \(fromStep) is inside the run's own anneal (schedule.anneal_start \(ownAnneal)); "
                + "branch from a checkpoint before it")
        }
        let available = run.checkpoints.completeCheckpoints()
        guard let found = available.first(where: { $0.step == fromStep }) else {
            let list = available.isEmpty ? "none" : available.map { String($0.step) }.joined(separator: ", ")
            throw TrainingError("\(runDirectory.path) has no complete checkpoint at step \(fromStep) (it has: \(list)); "
                + "keep more with train.checkpoint_every and train.keep_last")
        }
        recipe.schedule.annealStart = fromStep
        recipe.schedule.annealSteps = steps
        recipe.schedule.annealShape = shape
        if let minLR { recipe.schedule.minLR = minLR }
        recipe.train.steps = fromStep + steps
        try recipe.validate(source: "anneal of \(runDirectory.path)")
        self.runDirectory = runDirectory
        checkpoint = found.url
        directory = run.anneal(fromStep: fromStep, steps: steps).url
        self.recipe = recipe
        if !CheckpointStore(runDirectory: directory).completeCheckpoints().isEmpty {
            throw TrainingError("\(directory.path) already holds this anneal; delete that directory to redo it, or "
                + "continue an interrupted one with: pretrain train --resume \(directory.path)")
        }
    }

    /// The trainer of the branch (`corpus`: the main run's data, `TrainingCorpus.load(recipe.data)`).
    public func trainer(corpus: TrainingCorpus, console: ConsoleProgress = ConsoleProgress()) throws -> Trainer {
        try Trainer(recipe: recipe, runDirectory: directory, corpus: corpus, start: .branch(from: checkpoint), console: console)
    }
}
