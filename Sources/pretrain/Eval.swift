import ArgumentParser
import Composition
import Foundation
import Objectives
import Tensors
import TextData
import Training

/// `pretrain eval CKPT_OR_RUN --data DIR`: loss, perplexity and bits per byte of a checkpoint on a prepared corpus.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint (or a --compose composition of decoders) on a prepared corpus: loss, perplexity, bits per byte.")

    @Argument(help: "A checkpoint directory, or a run directory (its newest complete checkpoint); not with --compose.")
    var checkpoint: String?

    @OptionGroup var composition: ComposeOptions

    @Option(help: "Prepared corpus directory (from `pretrain tokenize`).")
    var data: String

    @Option(help: "Which split to evaluate: val or train.")
    var split: String = "val"

    @Option(name: .customLong("batch-size"), help: "Windows per forward pass.")
    var batchSize: Int = 16

    @Option(help: "Evaluate only the first N batches (default: every window of the split).")
    var batches: Int?

    @Option(help: "Compute threads (default: every core this process may use).")
    var threads: Int?

    @Flag(help: "Print one JSON object instead of a sentence.")
    var json = false

    func validate() throws {
        guard ["val", "train"].contains(split) else { throw ValidationError("--split must be val or train, got '\(split)'") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be ≥ 1") }
        if let batches, batches < 1 { throw ValidationError("--batches must be ≥ 1") }
    }

    func run() throws {
        if let threads { Runtime.configure(threads: threads) }
        let composed = try composition.load(checkpoint: checkpoint)
        let single = try composed == nil ? loadCheckpoint(URL(fileURLWithPath: checkpoint!)) : nil
        let corpus = try PreparedCorpus(directory: URL(fileURLWithPath: data))
        let vocabulary = composed?.decoder.vocabularySize ?? single!.config.vocabularySize
        guard corpus.vocabularySize <= vocabulary else {
            throw TrainingError("\(data) has a vocabulary of \(corpus.vocabularySize) tokens, the model \(vocabulary): "
                + "it was tokenized with another tokenizer")
        }
        let shards = try corpus.readShards(split == "val" ? .val : .train, vocabularySize: vocabulary)
        let (tokens, bytes) = split == "val" ? (corpus.valTokens, corpus.valBytes) : (corpus.trainTokens, corpus.trainBytes)
        let context = composed?.decoder.contextLength ?? single!.config.model.context
        let windows = evaluationBatches(shards: shards, context: context, batchSize: batchSize, limit: batches)
        guard !windows.isEmpty else {
            throw TrainingError("\(data): the \(split) split (\(tokens) tokens) is shorter than one window of \(context + 1) tokens")
        }
        let bytesPerToken = tokens > 0 && bytes > 0 ? Double(bytes) / Double(tokens) : nil
        if let composed {
            let evaluation = NextTokenEvaluation.evaluate(composed.decoder, windows: windows, bytesPerToken: bytesPerToken)
            return report(evaluation, name: composed.expression.text, path: composed.expression.text)
        }
        let loaded = single!
        let tokenizer = corpus.tokenizerURL
        guard let objective = try loaded.objective(tokenizerURL: FileManager.default.fileExists(atPath: tokenizer.path) ? tokenizer : nil)
                as? PretrainingObjective else {
            throw TrainingError("\(loaded.directory.path): objective \(loaded.config.objective.kind.rawValue) does not score token windows")
        }
        let evaluation = evaluate(objective, batches: windows, bytesPerToken: bytesPerToken)
        report(evaluation, name: loaded.directory.lastPathComponent, path: loaded.directory.path)
    }

    private func report(_ evaluation: Evaluation, name: String, path: String) {
        if json {
            var fields = ["\"\(composition.compose == nil ? "checkpoint" : "composition")\": \(quoted(path))", "\"split\": \(quoted(split))",
                          "\"loss\": \(evaluation.loss)", "\"perplexity\": \(evaluation.perplexity)",
                          "\"predicted_tokens\": \(evaluation.predicted)"]
            if let bpb = evaluation.bitsPerByte { fields.append("\"bits_per_byte\": \(bpb)") }
            print("{" + fields.joined(separator: ", ") + "}")
        } else {
            var line = "\(name) \(split): "
                + String(format: "loss %.4f │ ppl %.2f", evaluation.loss, evaluation.perplexity)
            if let bpb = evaluation.bitsPerByte { line += String(format: " │ %.4f bits/byte", bpb) }
            print(line + " (\(ConsoleProgress.grouped(Double(evaluation.predicted))) predicted tokens)")
        }
    }

    private func quoted(_ text: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
        return data.map { String(decoding: $0.dropFirst().dropLast(), as: UTF8.self) } ?? "\"\(text)\""
    }
}
