import ArgumentParser
import Dispatch
import Foundation
import HFInterop
import Tensors
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

    @Flag(help: "Start afresh in a run directory that holds an earlier run: its checkpoints, metrics, events and report are deleted first.")
    var overwrite = false

    func validate() throws {
        if resume != nil && initFrom != nil { throw ValidationError("--resume and --init-from exclude each other") }
        if resume == nil && recipe == nil { throw ValidationError("a recipe file is required (or --resume RUN_DIR)") }
        if resume != nil && overwrite { throw ValidationError("--overwrite starts afresh; it cannot be combined with --resume") }
        if let runDirectory, let resume, URL(fileURLWithPath: runDirectory).standardized != URL(fileURLWithPath: resume).standardized {
            throw ValidationError("--resume continues in its own run directory; leave out --run-dir")
        }
        if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be ≥ 1") }
    }

    func run() throws {
        let start: TrainingStart
        let runURL: URL
        var recipeValue: Recipe
        if let resume {
            runURL = URL(fileURLWithPath: resume)
            let stored = runURL.appendingPathComponent("recipe.yaml")
            guard FileManager.default.fileExists(atPath: stored.path) else {
                throw TrainingError("\(runURL.path): not a run directory (no recipe.yaml)")
            }
            recipeValue = try Recipe.load(recipe.map { URL(fileURLWithPath: $0) } ?? stored, overrides: overrides)
            let previous = try Recipe.load(stored)
            for change in Self.changes(from: previous, to: recipeValue) { print("resume with a changed recipe: \(change)") }
            if recipeValue.model.vocabSize == nil { recipeValue.model.vocabSize = previous.model.vocabSize }
            start = .resume
        } else {
            let recipeURL = URL(fileURLWithPath: recipe!)
            recipeValue = try Recipe.load(recipeURL, overrides: overrides)
            runURL = URL(fileURLWithPath: runDirectory ?? "runs/" + recipeURL.deletingPathExtension().lastPathComponent)
            start = try initFrom.map(Self.initialWeights) ?? .fresh
            if overwrite { try RunOutputs.remove(from: runURL) }
        }
        if let threads = recipeValue.train.threads { Runtime.configure(threads: threads) }
        let corpus = try TrainingCorpus.load(recipeValue.data)
        let trainer = try Trainer(recipe: recipeValue, runDirectory: runURL, corpus: corpus, start: start)
        let interrupt = InterruptFlag()
        trainer.shouldStop = { interrupt.isSet }
        let summary = try trainer.run(stopAfter: stopAfter)
        trainer.console.finish()
        if summary.finished, let evaluation = summary.evaluation, recipeValue.model.flavor.isAudio {
            print(String(format: "final: step %d │ val loss %.4f", summary.step, evaluation.loss))
        } else if summary.finished, let evaluation = summary.evaluation {
            var line = String(format: "final: step %d │ val loss %.4f │ ppl %.2f", summary.step, evaluation.loss, evaluation.perplexity)
            if let bpb = evaluation.bitsPerByte { line += String(format: " │ %.4f bits/byte", bpb) }
            print(line)
        }
        if let checkpoint = summary.checkpoint { print("checkpoint: \(checkpoint.path)") }
    }

    /// `--init-from`: one of our checkpoints (or run directories), or a Hugging Face model directory (config.json
    /// with a `model_type`), imported strictly; an encoder-only BERT gets a fresh masked-LM head.
    static func initialWeights(_ path: String) throws -> TrainingStart {
        let url = URL(fileURLWithPath: path)
        let config = url.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: config),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["model_type"] != nil else {
            return .initFrom(url)
        }
        let imported = try importHuggingFace(directory: url, options: HuggingFaceImportOptions(freshMaskedLMHead: true))
        if !imported.freshlyInitialized.isEmpty {
            print("\(url.path) has no masked-LM head: initialised afresh (\(imported.freshlyInitialized.joined(separator: ", ")))")
        }
        return .initFromWeights(source: url.path, weights: imported.model.stateDict())
    }

    /// "optim.lr: 0.001 → 0.0005" lines for every recipe value that differs.
    static func changes(from old: Recipe, to new: Recipe) -> [String] {
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
}

/// Set by the first Ctrl-C (SIGINT) or SIGTERM; a second one ends the process at once.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    private var sources: [DispatchSourceSignal] = []

    init() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                if self.isSet { exit(130) }
                self.lock.withLock { self.set = true }
                FileHandle.standardError.write(Data("\ninterrupted: stopping after this step with a checkpoint (again to quit now)\n".utf8))
            }
            source.resume()
            sources.append(source)
        }
    }

    var isSet: Bool { lock.withLock { set } }
}
