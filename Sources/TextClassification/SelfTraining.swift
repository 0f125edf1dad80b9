import Foundation
import Layers
import Tensors
import TextTasks

/// Which of a classifier's predictions on unlabelled texts become pseudo-labels.
public struct SelfTrainingSettings: Equatable, Sendable {
    /// A prediction is kept when its softmax probability is at least this (above 1: none is).
    public var threshold: Double = 0.9
    /// Keep at most this many, the most probable first (the earlier text on ties); nil: every one over the threshold.
    public var maxPseudoLabels: Int? = nil

    public init() {}

    /// What is wrong with the settings, naming the command-line flag; nil when they can run.
    public var problem: String? {
        if !(threshold.isFinite && threshold >= 0) { return "--threshold must be a number ≥ 0, got \(threshold)" }
        if let maxPseudoLabels, maxPseudoLabels < 1 { return "--max-pseudo-labels must be ≥ 1, got \(maxPseudoLabels)" }
        return nil
    }

    /// One pseudo-label: the text's index among those labelled, its predicted class and that class' probability.
    public struct PseudoLabel: Equatable, Sendable {
        public var index: Int
        public var label: Int
        public var probability: Double
    }

    /// The predictions kept from per-text class probabilities, in the order of the texts.
    public func select(_ probabilities: [[Double]]) -> [PseudoLabel] {
        var kept = probabilities.enumerated().compactMap { index, row -> PseudoLabel? in
            let label = row.indices.reduce(0) { row[$1] > row[$0] ? $1 : $0 }
            return row[label] >= threshold ? PseudoLabel(index: index, label: label, probability: row[label]) : nil
        }
        if let maxPseudoLabels, kept.count > maxPseudoLabels {
            kept = Array(kept.sorted { ($0.probability, -$0.index) > ($1.probability, -$1.index) }.prefix(maxPseudoLabels))
                .sorted { $0.index < $1.index }
        }
        return kept
    }
}

/// results.json's record of how the seeds were self-trained.
public struct SelfTrainingSummary: Codable, Equatable, Sendable {
    public var threshold: Double
    public var maxPseudoLabels: Int?
    /// The task's unlabelled texts, every one of which each seed's first classifier labelled.
    public var unlabelled: Int

    enum CodingKeys: String, CodingKey { case threshold, unlabelled, maxPseudoLabels = "max_pseudo_labels" }
}

/// One fine-tuning stage's result at its best dev step.
public struct StageResult: Codable, Equatable, Sendable {
    public var bestStep: Int
    public var steps: Int
    public var trainExamples: Int
    public var dev: ClassificationScore
    public var test: ClassificationScore
    public var stepZero: StepZeroScores?

    init(_ outcome: SequenceClassifierOutcome, trainExamples: Int) {
        (bestStep, steps, self.trainExamples) = (outcome.bestStep, outcome.steps, trainExamples)
        (dev, test, stepZero) = (outcome.dev, outcome.test, outcome.stepZero)
    }

    enum CodingKeys: String, CodingKey {
        case steps, dev, test
        case bestStep = "best_step", trainExamples = "train_examples", stepZero = "step_0"
    }
}

/// One seed's self-training before its last stage (whose result is the seed's own): the classifier fine-tuned on the
/// labelled examples (a), the pseudo-labels it gave (b), and the fresh copy of the checkpoint fine-tuned on them (c).
public struct SelfTrainingStages: Codable, Equatable, Sendable {
    public var labelled: StageResult
    /// Pseudo-labels kept, and per label (every label, in the task's order in the table).
    public var pseudoLabels: Int
    public var pseudoLabelsPerClass: [String: Int]
    /// nil: no pseudo-label was kept, and stage c was skipped.
    public var pseudoLabelled: StageResult?

    enum CodingKeys: String, CodingKey {
        case labelled
        case pseudoLabels = "pseudo_labels", pseudoLabelsPerClass = "pseudo_labels_per_class", pseudoLabelled = "pseudo_labelled"
    }

    func line(seed: UInt64, labels: [String]) -> String {
        let counts = labels.map { "\($0) \(pseudoLabelsPerClass[$0] ?? 0)" }.joined(separator: ", ")
        var line = String(format: "seed %llu: (a) labelled: dev %.4f, test %.4f at step %d; (b) %d pseudo-labels (%@); ", seed,
                          labelled.dev.accuracy, labelled.test.accuracy, labelled.bestStep, pseudoLabels, counts)
        if let stage = pseudoLabelled {
            line += String(format: "(c) pseudo-labelled: dev %.4f, test %.4f at step %d", stage.dev.accuracy,
                           stage.test.accuracy, stage.bestStep)
        } else {
            line += "(c) skipped"
        }
        return line
    }
}

extension TextClassifierFineTuning {
    /// Pseudo-label self-training, per seed (each stage by `method`, each choosing its best dev step on the seed's K-shot
    /// dev split):
    /// (a) fine-tune a copy of the checkpoint on the seed's K-shot train split;
    /// (b) label every text of `task.unlabelled` with it and keep the predictions whose softmax probability reaches
    ///     `selfTraining.threshold` (at most `maxPseudoLabels`, the most probable);
    /// (c) fine-tune a fresh copy of the checkpoint on those pseudo-labels;
    /// (d) fine-tune that classifier again on the K-shot train split; the seed's scores are this stage's.
    /// When no prediction reaches the threshold, (c) is skipped and (d) fine-tunes the fresh copy: the seed's result is
    /// then plain fine-tuning. Unlabelled texts have no gold labels, so the pseudo-labels' accuracy is not known; the
    /// test split is only scored, never used to choose. Stage (d), and every stage of a prompt, is scored before its
    /// first update too, and may keep the weights it started with.
    public func runSelfTraining(task: TextTask, shots: Int?, seeds: [UInt64], selfTraining: SelfTrainingSettings,
                                log: (String) -> Void = { _ in }) throws -> FineTuningReport {
        precondition(!seeds.isEmpty, "at least one seed")
        if let problem = selfTraining.problem { throw FineTuningError(problem) }
        guard !task.unlabelled.isEmpty else {
            throw FineTuningError("\(task.directory.appendingPathComponent("unlabelled.jsonl").path): no unlabelled texts, which self-training labels")
        }
        let backbone = try prepare(task: task)
        let unlabelled = try encodeUnlabelled(task.unlabelled, backbone: backbone)
        let isPrompt = backbone.method == .prompt
        var results: [SeedResult] = []
        for seed in seeds {
            let splits = try LabelledSplits(task: task, shots: shots, seed: seed)
            let (train, dev, test) = try encode(splits, backbone: backbone)
            // (a) and (b); the first classifier is released before the second is loaded.
            let (labelled, probabilities) = try {
                let teacher = try makeClassifier(backbone, labels: splits.labels.count, seed: seed)
                let outcome = try fit(teacher, train: train, dev: dev, test: test, backbone: backbone, seed: seed,
                                  stage: "a: labelled", evaluateBeforeTraining: isPrompt, log: log)
                return (outcome, Self.probabilities(teacher, unlabelled, padToken: backbone.inputs.padToken))
            }()
            let kept = selfTraining.select(probabilities)
            var perClass = Dictionary(uniqueKeysWithValues: splits.labels.map { ($0, 0) })
            for pseudo in kept { perClass[splits.labels[pseudo.label]]! += 1 }
            log(String(format: "seed %llu (b): %d of %d unlabelled texts labelled with probability ≥ %g (%@)", seed, kept.count,
                       unlabelled.count, selfTraining.threshold,
                       splits.labels.map { "\($0) \(perClass[$0]!)" }.joined(separator: ", ")))
            // (c)
            let student = try makeClassifier(backbone, labels: splits.labels.count, seed: seed)
            var pseudoLabelled: StageResult?
            if kept.isEmpty {
                log(String(format: "seed %llu (c): skipped, no pseudo-label; (d) fine-tunes the checkpoint on the labelled examples alone", seed))
            } else {
                let pseudo = kept.map { EncodedExample(ids: unlabelled[$0.index].ids, label: $0.label) }
                let outcome = try fit(student, train: pseudo, dev: dev, test: test, backbone: backbone, seed: seed,
                                  stage: "c: pseudo-labelled", evaluateBeforeTraining: isPrompt, log: log)
                pseudoLabelled = StageResult(outcome, trainExamples: pseudo.count)
            }
            // (d)
            let outcome = try fit(student, train: train, dev: dev, test: test, backbone: backbone, seed: seed,
                              stage: "d: labelled again", evaluateBeforeTraining: isPrompt || pseudoLabelled != nil, log: log)
            let stages = SelfTrainingStages(labelled: StageResult(labelled, trainExamples: train.count), pseudoLabels: kept.count,
                                            pseudoLabelsPerClass: perClass, pseudoLabelled: pseudoLabelled)
            let result = SeedResult(outcome, seed: seed, trainExamples: train.count, selfTraining: stages)
            logResult(result, log: log)
            results.append(result)
        }
        let summary = SelfTrainingSummary(threshold: selfTraining.threshold, maxPseudoLabels: selfTraining.maxPseudoLabels,
                                          unlabelled: unlabelled.count)
        return FineTuningReport(task: task, shots: shots, backbone: backbone, settings: settings, seeds: results,
                                selfTraining: summary)
    }

    /// Fine-tunes a copy of the checkpoint once on `task`'s K-shot sample for `seed` (by `method`, best dev step) and
    /// labels `texts` with it: per text its most probable class (the first on ties) and that class' softmax probability.
    public func pseudoLabels(task: TextTask, shots: Int?, seed: UInt64, texts: [String],
                             log: (String) -> Void = { _ in }) throws -> [(label: Int, probability: Double)] {
        let backbone = try prepare(task: task)
        let encodedTexts = try encodeUnlabelled(texts, backbone: backbone)
        let splits = try LabelledSplits(task: task, shots: shots, seed: seed)
        let (train, dev, test) = try encode(splits, backbone: backbone)
        let classifier = try makeClassifier(backbone, labels: splits.labels.count, seed: seed)
        _ = try fit(classifier, train: train, dev: dev, test: test, backbone: backbone, seed: seed,
                evaluateBeforeTraining: backbone.method == .prompt, log: log)
        return Self.probabilities(classifier, encodedTexts, padToken: backbone.inputs.padToken).map { row in
            let label = row.indices.reduce(0) { row[$1] > row[$0] ? $1 : $0 }
            return (label, row[label])
        }
    }

    /// Per text, the softmax of `classifier`'s logits (in evaluation mode), as `backbone` encodes the texts.
    public func predictProbabilities(_ classifier: SequenceClassifier, texts: [String], backbone: Backbone) throws -> [[Double]] {
        Self.probabilities(classifier, try encodeUnlabelled(texts, backbone: backbone), padToken: backbone.inputs.padToken)
    }

    static func probabilities(_ classifier: SequenceClassifier, _ examples: [EncodedExample], padToken: Int32) -> [[Double]] {
        guard !examples.isEmpty else { return [] }
        return SequenceClassifierTraining.logits(classifier, examples, padToken: padToken).map { row in
            let largest = Double(row.max()!)
            let exponentials = row.map { exp(Double($0) - largest) }
            let total = exponentials.reduce(0, +)
            return exponentials.map { $0 / total }
        }
    }

    /// Texts without labels as the classifier reads them (label 0 stands in); a text without tokens is an error.
    func encodeUnlabelled(_ texts: [String], backbone: Backbone) throws -> [EncodedExample] {
        try texts.enumerated().map { index, text in
            let ids = backbone.encode(text)
            guard !ids.isEmpty else { throw FineTuningError("unlabelled text \(index + 1): the text gives no tokens") }
            return EncodedExample(ids: ids, label: 0)
        }
    }
}
