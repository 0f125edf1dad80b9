import ArgumentParser
import Composition
import Foundation
import Tensors
import TextData
import TextEvaluation
import TextTasks
import Training

/// `pretrain evaluate CKPT --tasks DIR1,DIR2 --shots K [--seeds S] [--limit N] [--json FILE]`: zero- and few-shot
/// multiple-choice scoring of a decoder on labelled text tasks, as lm-evaluation-harness scores them.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Zero- and few-shot multiple-choice scoring of a decoder on text tasks: acc and acc_norm beside the majority class.",
        discussion: """
            Each test example is scored once per label: the context is K random train examples (each its filled \
            template and label words, then a blank line) and the example's filled template; the continuation is \
            the label's verbaliser words. acc picks the largest summed log-likelihood, acc_norm the largest per \
            byte of the words. K > 0 draws demonstrations per example and seed (seeds 0..<S); K = 0 runs once. \
            See docs/EVALUATION.md.
            """)

    @Argument(help: "A decoder checkpoint directory, or a run directory (its newest complete checkpoint); not with --compose.")
    var checkpoint: String?

    @OptionGroup var composition: ComposeOptions

    @Option(help: "Task directories (from `pretrain tasks prepare`), comma-separated.")
    var tasks: String

    @Option(help: "In-context examples per test example (K in all, not per class).")
    var shots: Int = 0

    @Option(help: "Seeds of the demonstrations' draw when K > 0: mean ± sd over them.")
    var seeds: Int = 3

    @Option(help: "Score only the first N test examples of each task.")
    var limit: Int?

    @Option(help: ArgumentHelp("Write the scores as JSON (per task, per seed, per metric).", valueName: "FILE"))
    var json: String?

    @Option(name: .customLong("log-likelihoods"),
            help: ArgumentHelp("Write every example's choice log-likelihoods as JSON Lines.", valueName: "FILE"))
    var logLikelihoods: String?

    @Option(help: "tokenizer.json to use instead of the checkpoint's (or its run directory's).")
    var tokenizer: String?

    @Option(name: .customLong("batch-size"), help: "Choices (rows) per forward pass.")
    var batchSize: Int = 16

    @Option(help: "Compute threads (default: every core this process may use).")
    var threads: Int?

    var taskPaths: [String] { tasks.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }

    func validate() throws {
        guard shots >= 0 else { throw ValidationError("--shots must be ≥ 0, got \(shots)") }
        guard seeds >= 1 else { throw ValidationError("--seeds must be ≥ 1, got \(seeds)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be ≥ 1, got \(limit)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be ≥ 1, got \(batchSize)") }
        guard !taskPaths.isEmpty else { throw ValidationError("--tasks names no task directory") }
    }

    func run() throws {
        if let threads { Runtime.configure(threads: threads) }
        // Every task and its prompt are checked before the model loads.
        let loaded = try taskPaths.map { try TextTask.load(URL(fileURLWithPath: $0)) }
        for task in loaded { _ = try FewShotPrompt(task: task, shots: shots, seed: 0) }
        let scorer: DecoderChoiceScorer, name: String
        if let composed = try composition.load(checkpoint: checkpoint) {
            let url = tokenizer.map { URL(fileURLWithPath: $0) } ?? composed.tokenizerURL
            scorer = try DecoderChoiceScorer(model: composed.decoder, tokenizer: try loadTokenizer(url), source: url.path, batchRows: batchSize)
            name = composed.expression.text
        } else {
            scorer = try MultipleChoiceEvaluation.scorer(checkpoint: URL(fileURLWithPath: checkpoint!), tokenizer: tokenizer,
                                                         batchRows: batchSize)
            name = scorer.checkpoint?.path ?? checkpoint!
        }
        var results: [TaskChoiceScores] = []
        var lines: [Data] = []
        for task in loaded {
            let progress = TaskProgress("evaluate \(task.name)", unit: "examples")
            let scores = try MultipleChoiceEvaluation.evaluate(
                task, scorer: scorer, shots: shots, seeds: seeds, limit: limit,
                examples: { scored in
                    if logLikelihoods != nil { lines += try scored.map { try MultipleChoiceEvaluation.json($0, pretty: false) } }
                },
                progress: { progress.update(Double($0), of: Double($1)) })
            progress.finish()
            results.append(scores)
        }
        print(MultipleChoiceEvaluation.table(results))
        let seconds = results.map(\.seconds).reduce(0, +)
        print("\(name): \(shots)-shot, " + String(format: "%.1f s", seconds))
        if let json {
            let report = ChoiceEvaluationReport(checkpoint: name, shots: shots, limit: limit, tasks: results)
            try MultipleChoiceEvaluation.write(try MultipleChoiceEvaluation.json(report) + Data("\n".utf8), to: json)
            print("wrote \(json)")
        }
        if let logLikelihoods {
            try MultipleChoiceEvaluation.write(Data(lines.map { $0 + Data("\n".utf8) }.joined()), to: logLikelihoods)
            print("wrote \(logLikelihoods)")
        }
    }
}
