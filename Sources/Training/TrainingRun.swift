import Foundation
import Tensors

/// `pretrain train` as a library call, so that tests and other code train exactly as the command line does:
/// the recipe read with its overrides (or the stored one of a run to resume), the run directory chosen, the corpus
/// loaded, the trainer built (replacing an earlier run with `overwrite`) and run.
public struct TrainingRun {
    /// The recipe file; with `resume` optional (the run's stored recipe.yaml is read then).
    public var recipe: URL?
    /// nil: runs/<recipe name>, or the directory of `resume`.
    public var runDirectory: URL?
    /// `path=value` overrides of recipe values (`--set`).
    public var overrides: [String] = []
    /// Continue this run directory exactly from its newest complete checkpoint.
    public var resume: URL?
    /// Start from the weights of this checkpoint (or run directory's newest) with a new optimiser and schedule.
    public var initFrom: URL?
    /// Reads `initFrom` when it is not one of our checkpoints (the command line imports a Hugging Face directory
    /// here, as Training does not depend on HFInterop); nil: it is a checkpoint.
    public var importWeights: (URL) throws -> TrainingStart? = { _ in nil }
    /// Start afresh where an earlier run is: its files are set aside once the recipe, corpus, model and `initFrom`
    /// have been checked, and deleted when the new run's first checkpoint is complete (`Trainer`'s `overwrite`).
    public var overwrite = false
    /// Stop after this step with a checkpoint.
    public var stopAfter: Int?

    public init(recipe: URL? = nil, runDirectory: URL? = nil) {
        self.recipe = recipe
        self.runDirectory = runDirectory
    }

    /// A contradiction between the options (the command line's usage errors), or nil.
    public var problem: String? {
        if resume != nil && initFrom != nil { return "--resume and --init-from exclude each other" }
        if resume == nil && recipe == nil { return "a recipe file is required (or --resume RUN_DIR)" }
        if resume != nil && overwrite { return "--overwrite starts afresh; it cannot be combined with --resume" }
        if let runDirectory, let resume, runDirectory.standardized != resume.standardized {
            return "--resume continues in its own run directory; leave out --run-dir"
        }
        if let stopAfter, stopAfter < 1 { return "--stop-after must be ≥ 1" }
        return nil
    }

    /// A prepared run: the resolved recipe, where it trains and how it starts.
    public struct Plan {
        public var recipe: Recipe
        public var runDirectory: RunDirectory
        public var start: TrainingStart
    }

    /// Reads the recipe and chooses the run directory and start, without touching the run directory. `log` gets a
    /// line for every recipe value a resume changes.
    public func plan(log: (String) -> Void = { _ in }) throws -> Plan {
        if let problem { throw TrainingError(problem) }
        if let resume {
            let run = RunDirectory(resume)
            let stored = try run.storedRecipe()
            var recipe = try Recipe.load(self.recipe ?? stored, overrides: overrides)
            let previous = try Recipe.load(stored)
            // The sizes the run resolved from its data (left unset in a recipe file) are not changes.
            if recipe.model.vocabSize == nil { recipe.model.vocabSize = previous.model.vocabSize }
            if recipe.model.featureDim == nil { recipe.model.featureDim = previous.model.featureDim }
            if recipe.model.targetDim == nil { recipe.model.targetDim = previous.model.targetDim }
            for change in recipeChanges(from: previous, to: recipe) { log("resume with a changed recipe: \(change)") }
            return Plan(recipe: recipe, runDirectory: run, start: .resume)
        }
        let recipeURL = self.recipe!
        return Plan(recipe: try Recipe.load(recipeURL, overrides: overrides),
                    runDirectory: runDirectory.map { RunDirectory($0) } ?? RunDirectory(defaultForRecipe: recipeURL),
                    start: try initFrom.map { try importWeights($0) ?? .initFrom($0) } ?? .fresh)
    }

    /// The plan carried out up to the first step: the corpus loaded, the trainer built (which locks the run
    /// directory, refuses one holding checkpoints unless resuming or overwriting, and sets an overwritten run aside).
    public func trainer(console: ConsoleProgress = ConsoleProgress(), log: (String) -> Void = { _ in }) throws -> (plan: Plan, trainer: Trainer) {
        let plan = try plan(log: log)
        if let threads = plan.recipe.train.threads { Runtime.configure(threads: threads) }
        let corpus = try TrainingCorpus.load(plan.recipe.data)
        let trainer = try Trainer(recipe: plan.recipe, runDirectory: plan.runDirectory.url, corpus: corpus,
                                  start: plan.start, overwrite: overwrite, console: console)
        return (plan, trainer)
    }

    /// Trains as `pretrain train` does (until train.steps, `stopAfter` or `shouldStop`, polled after every step)
    /// and returns the summary with the plan it ran; `log` gets the plan's lines.
    @discardableResult
    public func run(console: ConsoleProgress = ConsoleProgress(), shouldStop: @escaping () -> Bool = { false },
                    log: (String) -> Void = { _ in }) throws -> (plan: Plan, summary: TrainingSummary) {
        let (plan, trainer) = try trainer(console: console, log: log)
        trainer.shouldStop = shouldStop
        let summary = try trainer.run(stopAfter: stopAfter)
        trainer.console.finish()
        return (plan, summary)
    }
}

/// "optim.lr: 0.001 → 0.0005" for every recipe value that differs, sorted by path.
public func recipeChanges(from old: Recipe, to new: Recipe) -> [String] {
    func flatten(_ recipe: Recipe) -> [String: String] {
        guard let data = try? JSONEncoder().encode(recipe),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        var result: [String: String] = [:]
        func walk(_ value: Any, _ path: String) {
            if let dictionary = value as? [String: Any] {
                for (key, child) in dictionary { walk(child, path.isEmpty ? key : "\(path).\(key)") }
            } else {
                result[path] = "\(value)"
            }
        }
        walk(object, "")
        return result
    }
    let (a, b) = (flatten(old), flatten(new))
    return Set(a.keys).union(b.keys).sorted().compactMap { key in
        a[key] == b[key] ? nil : "\(key): \(a[key] ?? "unset") → \(b[key] ?? "unset")"
    }
}

extension TrainingSummary {
    /// The command line's closing line: the last step's validation loss (and perplexity, bits per byte for text),
    /// nil when the run stopped early or had nothing to evaluate.
    public func finalLine(audio: Bool) -> String? {
        guard finished, let evaluation else { return nil }
        if audio { return String(format: "final: step %d │ val loss %.4f", step, evaluation.loss) }
        var line = String(format: "final: step %d │ val loss %.4f │ ppl %.2f", step, evaluation.loss, evaluation.perplexity)
        if let bpb = evaluation.bitsPerByte { line += String(format: " │ %.4f bits/byte", bpb) }
        return line
    }
}
