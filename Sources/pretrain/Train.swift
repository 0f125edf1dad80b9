import ArgumentParser
import Foundation
import HFInterop
import Training

/// `pretrain train RECIPE [--run-dir DIR] [--set k=v]… [--resume DIR | --init-from CKPT]`.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model as a YAML recipe describes; continue a run exactly (--resume) or start from another's weights (--init-from).",
        discussion: """
            The run directory receives recipe.yaml (the resolved recipe), metrics.jsonl, TensorBoard event files and \
            checkpoints/step_NNNNNN/. Ctrl-C stops after the current step with a checkpoint; --resume continues it.
            """)

    @Argument(help: "Recipe file (YAML). Optional with --resume, which then reads RUN_DIR/recipe.yaml.")
    var recipe: String?

    @Option(name: .customLong("run-dir"), help: "Run directory (default: runs/<recipe name>).")
    var runDirectory: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a recipe value by its dotted path, e.g. optim.lr=3e-4 (repeatable).",
                                                         valueName: "path=value"))
    var overrides: [String] = []

    @Option(help: ArgumentHelp("Continue this run directory exactly from its newest complete checkpoint.", valueName: "RUN_DIR"))
    var resume: String?

    @Option(name: .customLong("init-from"),
            help: ArgumentHelp("Start from the weights of this checkpoint (a run directory's newest, or a Hugging Face model directory) with a new optimiser and schedule.",
                               valueName: "CKPT"))
    var initFrom: String?

    @Option(name: .customLong("stop-after"), help: "Stop after this step with a checkpoint (continue later with --resume).")
    var stopAfter: Int?

    @Flag(help: ArgumentHelp("Start afresh in a run directory that holds an earlier run.",
                             discussion: "Its checkpoints, metrics, events and report are moved to RUN/.overwritten-<time>/ once the new recipe, corpus, model and --init-from have been checked, and deleted when the new run's first checkpoint is complete. --init-from may not point into the run directory it replaces."))
    var overwrite = false

    var options: TrainingRun {
        var options = TrainingRun(recipe: recipe.map { URL(fileURLWithPath: $0) }, runDirectory: runDirectory.map { URL(fileURLWithPath: $0) })
        options.overrides = overrides
        options.resume = resume.map { URL(fileURLWithPath: $0) }
        options.initFrom = initFrom.map { URL(fileURLWithPath: $0) }
        options.importWeights = Self.importHuggingFace
        (options.overwrite, options.stopAfter) = (overwrite, stopAfter)
        return options
    }

    func validate() throws {
        if let problem = options.problem { throw ValidationError(problem) }
    }

    func run() throws {
        let (plan, trainer) = try options.trainer(log: { print($0) })
        let interrupt = InterruptFlag()
        trainer.shouldStop = { interrupt.isSet }
        let summary = try trainer.run(stopAfter: stopAfter)
        trainer.console.finish()
        if let line = summary.finalLine(audio: plan.recipe.model.flavor.isAudio) { print(line) }
        if let checkpoint = summary.checkpoint { print("checkpoint: \(checkpoint.path)") }
    }

    /// `--init-from` a Hugging Face model directory (config.json with a `model_type`), imported strictly; an
    /// encoder-only BERT gets a fresh masked-LM head. nil for anything else (one of our checkpoints).
    static func importHuggingFace(_ url: URL) throws -> TrainingStart? {
        guard let data = try? Data(contentsOf: url.appendingPathComponent("config.json")),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["model_type"] != nil else {
            return nil
        }
        let imported = try HFInterop.importHuggingFace(directory: url, options: HuggingFaceImportOptions(freshMaskedLMHead: true))
        if !imported.freshlyInitialized.isEmpty {
            print("\(url.path) has no masked-LM head: initialised afresh (\(imported.freshlyInitialized.joined(separator: ", ")))")
        }
        return .initFromWeights(source: url.path, weights: imported.model.stateDict())
    }
}
