import FileErrors
import Foundation
import TextTasks
import Training

extension LabelledSplits {
    /// One seed's examples of a task: K of each class from train and from dev (`TextTask.fewShot`, all when `shots` is
    /// nil) and the whole test split, each label as its index in the task's list.
    public init(task: TextTask, shots: Int?, seed: UInt64) throws {
        if let shots, shots < 1 { throw FineTuningError("--shots must be ≥ 1, got \(shots)") }
        let sample = task.fewShot(k: shots, seed: seed)
        func indexed(_ examples: [TaskExample], _ split: String) throws -> [LabelledText] {
            try examples.enumerated().map { index, example in
                guard let label = task.labelIndex(example.label) else {
                    throw FineTuningError("\(task.directory.path): \(split) example \(index + 1) has label '\(example.label)', "
                        + "not one of task.yaml's labels (\(task.labels.joined(separator: ", ")))")
                }
                return LabelledText(text: example.text, label: label)
            }
        }
        self.init(labels: task.labels, train: try indexed(sample.train, "train"), dev: try indexed(sample.dev, "dev"),
                  test: try indexed(task.test, "test"))
    }
}

/// results.json of `pretrain finetune-text`: what was fine-tuned on what, each seed's scores at its best dev step, and
/// their spread.
public struct FineTuningReport: Codable, Equatable, Sendable {
    public var checkpoint: String
    public var task: String
    public var labels: [String]
    /// Examples per class in train and dev; nil: the whole splits.
    public var shots: Int?
    public var method: FineTuningMethod
    /// What the classifier reads: cls, mean or last for a new head; mask or last for a prompt.
    public var head: String
    public var linearProbe: Bool
    public var steps: Int
    public var batchSize: Int
    public var learningRate: Float
    public var maxLength: Int
    /// `.prompt`: each label's token (the first of its verbaliser words), as text.
    public var labelTokens: [String]?
    /// `.prompt`: the labels whose verbaliser words are more than one token (their first token stands for them).
    public var multiTokenLabels: [String]?
    public var seeds: [SeedResult]
    public var devAccuracy: Spread
    public var testAccuracy: Spread
    public var testMacroF1: Spread
    /// Over the seeds that were scored before training (a prompt's zero-shot scores).
    public var stepZeroDevAccuracy: Spread?
    public var stepZeroTestAccuracy: Spread?
    /// The pseudo-labelling settings, when the seeds were self-trained.
    public var selfTraining: SelfTrainingSummary?

    enum CodingKeys: String, CodingKey {
        case checkpoint, task, labels, shots, method, head, steps, seeds
        case linearProbe = "linear_probe", batchSize = "batch_size", learningRate = "learning_rate", maxLength = "max_length"
        case labelTokens = "label_tokens", multiTokenLabels = "multi_token_labels"
        case devAccuracy = "dev_accuracy", testAccuracy = "test_accuracy", testMacroF1 = "test_macro_f1"
        case stepZeroDevAccuracy = "step_0_dev_accuracy", stepZeroTestAccuracy = "step_0_test_accuracy"
        case selfTraining = "self_training"
    }

    init(task: TextTask, shots: Int?, backbone: TextClassifierFineTuning.Backbone, settings: SequenceClassifierSettings,
         seeds: [SeedResult], selfTraining: SelfTrainingSummary? = nil) {
        (checkpoint, self.task, labels, self.shots) = (backbone.directory.path, task.name, task.labels, shots)
        (method, head, linearProbe) = (backbone.method, backbone.pooling.rawValue, settings.linearProbe)
        (steps, batchSize, learningRate) = (seeds[0].steps, settings.batchSize, settings.peakLearningRate)
        (maxLength, labelTokens, multiTokenLabels) = (backbone.inputs.maxLength, backbone.prompt?.labelTokenTexts,
                                                      backbone.prompt?.multiTokenLabels)
        self.seeds = seeds
        devAccuracy = Spread(seeds.map(\.dev.accuracy))
        testAccuracy = Spread(seeds.map(\.test.accuracy))
        testMacroF1 = Spread(seeds.map(\.test.macroF1))
        let stepZero = seeds.compactMap(\.stepZero)
        if !stepZero.isEmpty {
            stepZeroDevAccuracy = Spread(stepZero.map(\.dev.accuracy))
            stepZeroTestAccuracy = Spread(stepZero.map(\.test.accuracy))
        }
        self.selfTraining = selfTraining
    }

    /// A table of the seeds and their mean ± sd; then the scores before training and the self-training stages, when
    /// there are any.
    public var lines: [String] {
        var lines = ["| seed | best step | dev accuracy | test accuracy | test macro-F1 |", "|---|---|---|---|---|"]
        for seed in seeds {
            lines.append(String(format: "| %llu | %d/%d | %.4f | %.4f | %.4f |", seed.seed, seed.bestStep, seed.steps,
                                seed.dev.accuracy, seed.test.accuracy, seed.test.macroF1))
        }
        lines.append(String(format: "| mean ± sd | | %.4f ± %.4f | %.4f ± %.4f | %.4f ± %.4f |", devAccuracy.mean, devAccuracy.sd,
                            testAccuracy.mean, testAccuracy.sd, testMacroF1.mean, testMacroF1.sd))
        if let dev = stepZeroDevAccuracy, let test = stepZeroTestAccuracy {
            let what = selfTraining == nil ? "zero-shot prompt" : "the model the last stage started from"
            lines.append(String(format: "step 0 (%@, %d seeds): dev accuracy %.4f ± %.4f, test accuracy %.4f ± %.4f", what,
                                seeds.filter { $0.stepZero != nil }.count, dev.mean, dev.sd, test.mean, test.sd))
        }
        if let selfTraining {
            lines.append(String(format: "self-training: pseudo-labels of probability ≥ %g%@ among %d unlabelled texts",
                                selfTraining.threshold, selfTraining.maxPseudoLabels.map { ", at most \($0)" } ?? "",
                                selfTraining.unlabelled))
            for seed in seeds {
                guard let stages = seed.selfTraining else { continue }
                lines.append(stages.line(seed: seed.seed, labels: labels))
            }
        }
        if let labelTokens {
            let tokens = zip(labels, labelTokens).map { "\($0) \"\($1)\"" }.joined(separator: ", ")
            let several = multiTokenLabels ?? []
            lines.append("label tokens: \(tokens)" + (several.isEmpty ? ""
                : " (the first token of the words of \(several.joined(separator: ", ")), which are more than one)"))
        }
        return lines
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self) + Data("\n".utf8)
        try FileError.createDirectory(url.deletingLastPathComponent())
        try FileError.wrap("write the results", path: url.path) { try data.write(to: url, options: .atomic) }
    }
}

extension TextClassifierFineTuning {
    /// Fine-tunes the checkpoint on `task` once per seed (each seed its own few-shot sample, head, batches and
    /// dropout), by `method`. With `export`, seed s's classifier is written to `export/seed-s` as a Hugging Face
    /// directory (not for `.prompt`).
    public func run(task: TextTask, shots: Int?, seeds: [UInt64], export: URL? = nil,
                    log: (String) -> Void = { _ in }) throws -> FineTuningReport {
        precondition(!seeds.isEmpty, "at least one seed")
        if export != nil && method == .prompt { throw Self.promptExportError }
        let backbone = try prepare(task: task)
        if export != nil && backbone.pooling == .mean {
            throw FineTuningError("--out writes a transformers *ForSequenceClassification, which reads [CLS] (BERT) or the last "
                + "token (GPT-2, Llama): --head mean has no such class")
        }
        var results: [SeedResult] = []
        for seed in seeds {
            let splits = try LabelledSplits(task: task, shots: shots, seed: seed)
            let result = try run(splits, seed: seed, backbone: backbone,
                                 export: export?.appendingPathComponent("seed-\(seed)"), log: log)
            logResult(result, log: log)
            results.append(result)
        }
        return FineTuningReport(task: task, shots: shots, backbone: backbone, settings: settings, seeds: results)
    }

    func logResult(_ result: SeedResult, log: (String) -> Void) {
        let before = result.stepZero.map { String(format: "; before training: dev %.4f, test %.4f", $0.dev.accuracy, $0.test.accuracy) }
        log(String(format: "seed %llu: dev accuracy %.4f, test accuracy %.4f, macro-F1 %.4f at step %d (%d train examples)%@",
                   result.seed, result.dev.accuracy, result.test.accuracy, result.test.macroF1, result.bestStep,
                   result.trainExamples, before ?? ""))
    }
}

extension TextClassifierFineTuning {
    /// RUN/finetune-text/<task>-<K>shot[-probe][-prompt][-self-train].json for a checkpoint of a run (a run
    /// directory's newest checkpoint); beside a checkpoint that belongs to no run, in its parent's finetune-text/.
    public func defaultResultsURL(task: String, shots: Int?, selfTraining: Bool = false) throws -> URL {
        let directory = try Checkpoint.locate(checkpoint)
        let run = RunDirectory(ofCheckpoint: directory)
        let parent = run.holds(directory) ? run.url : directory.deletingLastPathComponent()
        return parent.appendingPathComponent("finetune-text")
            .appendingPathComponent("\(task)-\(shots.map { "\($0)shot" } ?? "all")\(settings.linearProbe ? "-probe" : "")"
                + "\(method == .prompt ? "-prompt" : "")\(selfTraining ? "-self-train" : "").json")
    }
}
