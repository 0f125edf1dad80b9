import FileErrors
import Foundation
import TextData
import TextTasks
import Training

/// One test example scored for every label: the continuation of each label is its verbaliser words.
public struct ExampleChoices: Codable, Sendable, Equatable {
    public var task: String
    public var seed: UInt64
    /// The example's index in the test split.
    public var index: Int
    public var label: String
    /// The continuations, in task.yaml's label order.
    public var continuations: [String]
    public var logLikelihoods: [Double]
    public var greedy: [Bool]
    /// The label of the largest log-likelihood (acc) and of the largest log-likelihood per byte (acc_norm).
    public var prediction: String
    public var predictionNorm: String
    /// The context's tokens before truncation, and whether it was cut to fit the model's window.
    public var contextTokens: Int
    public var truncated: Bool
}

/// acc and acc_norm of one seed's draw of demonstrations.
public struct SeedScore: Codable, Sendable, Equatable {
    public var seed: UInt64
    public var acc: Double
    public var accNorm: Double
}

/// A task's multiple-choice scores over seeds, beside the majority class of its train split on the same examples.
public struct TaskChoiceScores: Codable, Sendable, Equatable {
    public var task: String
    public var directory: String
    public var shots: Int
    public var labels: [String]
    public var continuations: [String]
    /// Test examples scored (the first `limit` of the test split, or all).
    public var examples: Int
    public var majorityLabel: String
    public var majority: Double
    public var seeds: [SeedScore]
    public var acc: Spread
    public var accNorm: Spread
    /// Examples whose context was cut to the model's window, summed over seeds.
    public var truncated: Int
    public var seconds: Double
}

/// What `pretrain evaluate` writes with --json.
public struct ChoiceEvaluationReport: Codable, Sendable, Equatable {
    public var checkpoint: String
    public var shots: Int
    public var limit: Int?
    public var tasks: [TaskChoiceScores]

    public init(checkpoint: String, shots: Int, limit: Int?, tasks: [TaskChoiceScores]) {
        (self.checkpoint, self.shots, self.limit, self.tasks) = (checkpoint, shots, limit, tasks)
    }
}

/// Zero- and few-shot multiple-choice classification of a task's test examples by a decoder, as lm-evaluation-harness
/// scores a `multiple_choice` task: per example, each label's verbaliser words are a continuation of the context
/// (`FewShotPrompt`); acc takes the label of the largest summed log-likelihood, acc_norm the largest log-likelihood
/// per UTF-8 byte of the words (the harness divides by the choice string's length in characters; the two agree for
/// ASCII words, and the words here carry the harness's target delimiter, a leading space).
public enum MultipleChoiceEvaluation {
    /// The decoder and tokenizer of a checkpoint (or run) directory; an encoder is refused.
    public static func scorer(checkpoint: URL, tokenizer override: String? = nil, batchRows: Int = 16) throws -> DecoderChoiceScorer {
        let loaded = try loadCheckpoint(checkpoint)
        guard let decoder = loaded.decoder else {
            throw EvaluationError("\(loaded.directory.path) holds a \(loaded.config.model.flavor.rawValue) encoder: "
                + "multiple-choice scoring needs a decoder (gpt2 or llama); a masked LM is scored by its cloze, a different method")
        }
        let url = try loaded.tokenizerFile(override: override)
        let scorer = try DecoderChoiceScorer(model: decoder, tokenizer: try loadTokenizer(url), source: url.path, batchRows: batchRows)
        scorer.checkpoint = loaded.directory
        return scorer
    }

    /// One seed: every scored test example with its choices' log-likelihoods. `progress(done, total)` after each chunk.
    public static func evaluate(_ task: TextTask, scorer: DecoderChoiceScorer, shots: Int, seed: UInt64, limit: Int? = nil,
                                progress: ((Int, Int) -> Void)? = nil) throws -> [ExampleChoices] {
        let prompt = try FewShotPrompt(task: task, shots: shots, seed: seed)
        let test = Array(task.test.prefix(limit ?? task.test.count))
        let continuations = task.labels.map(prompt.words)
        var scored: [ExampleChoices] = []
        let chunk = max(1, scorer.batchRows / max(1, task.labels.count))
        var start = 0
        while start < test.count {
            let indices = start..<min(test.count, start + chunk)
            var requests: [ChoiceTokens] = []
            for index in indices {
                let context = prompt.context(for: test[index], index: index)
                requests += try continuations.map { try scorer.encoder.encode(context: context, continuation: $0) }
            }
            let likelihoods = try scorer.score(requests)
            for (offset, index) in indices.enumerated() {
                let range = offset * continuations.count..<(offset + 1) * continuations.count
                let values = likelihoods[range].map(\.logLikelihood)
                let choice = choose(values, continuations: continuations)
                let first = requests[range.lowerBound]
                let cut = requests[range].contains { $0.context.count + $0.continuation.count > scorer.window + 1 }
                scored.append(ExampleChoices(
                    task: task.name, seed: seed, index: index, label: test[index].label, continuations: continuations,
                    logLikelihoods: values, greedy: likelihoods[range].map(\.isGreedy),
                    prediction: task.labels[choice.acc], predictionNorm: task.labels[choice.accNorm],
                    contextTokens: first.context.count,
                    truncated: cut))
            }
            start = indices.upperBound
            progress?(start, test.count)
        }
        return scored
    }

    /// Every seed (one when K = 0: the context does not depend on it), summarised; `examples` receives each seed's
    /// per-example scores.
    public static func evaluate(_ task: TextTask, scorer: DecoderChoiceScorer, shots: Int, seeds: Int, limit: Int? = nil,
                                examples: (([ExampleChoices]) throws -> Void)? = nil,
                                progress: ((Int, Int) -> Void)? = nil) throws -> TaskChoiceScores {
        let started = Date()
        let seedList = shots == 0 ? [UInt64(0)] : (0..<UInt64(max(1, seeds))).map { $0 }
        let count = min(limit ?? task.test.count, task.test.count)
        var scores: [SeedScore] = []
        var truncated = 0
        var words: [String] = []
        for (round, seed) in seedList.enumerated() {
            let offset = round * count, total = seedList.count * count
            let scored = try evaluate(task, scorer: scorer, shots: shots, seed: seed, limit: limit,
                                      progress: { done, _ in progress?(offset + done, total) })
            try examples?(scored)
            words = scored.first?.continuations ?? words
            truncated += scored.filter { $0.truncated }.count
            let right = scored.filter { $0.prediction == $0.label }.count
            let rightNorm = scored.filter { $0.predictionNorm == $0.label }.count
            let n = Double(max(1, scored.count))
            scores.append(SeedScore(seed: seed, acc: Double(right) / n, accNorm: Double(rightNorm) / n))
        }
        let majority = majorityLabel(task.train, labels: task.labels)
        let test = task.test.prefix(count)
        return TaskChoiceScores(
            task: task.name, directory: task.directory.path, shots: shots, labels: task.labels, continuations: words,
            examples: count, majorityLabel: majority,
            majority: Double(test.filter { $0.label == majority }.count) / Double(max(1, count)),
            seeds: scores, acc: Spread(scores.map(\.acc)), accNorm: Spread(scores.map(\.accNorm)),
            truncated: truncated, seconds: Date().timeIntervalSince(started))
    }

    /// The choice acc makes (the largest log-likelihood) and the one acc_norm makes (the largest log-likelihood per
    /// UTF-8 byte of the continuation); ties go to the first, as numpy's argmax.
    public static func choose(_ logLikelihoods: [Double], continuations: [String]) -> (acc: Int, accNorm: Int) {
        let perByte = zip(logLikelihoods, continuations).map { $0 / Double(max(1, $1.utf8.count)) }
        return (argmax(logLikelihoods), argmax(perByte))
    }

    /// The most frequent label of `examples` (ties: the first in label order).
    static func majorityLabel(_ examples: [TaskExample], labels: [String]) -> String {
        let counts = labels.map { label in examples.filter { $0.label == label }.count }
        return labels[argmax(counts.map(Double.init))]
    }

    /// The first index of the largest value (numpy's argmax).
    static func argmax(_ values: [Double]) -> Int {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return best
    }

    /// The table `pretrain evaluate` prints: task, K, examples, acc and acc_norm (mean ± sd over seeds when K > 0),
    /// and the majority class.
    public static func table(_ scores: [TaskChoiceScores]) -> String {
        func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        func cell(_ value: Spread, seeds: Int) -> String {
            seeds > 1 ? String(format: "%.3f ± %.3f", value.mean, value.sd) : String(format: "%.3f", value.mean)
        }
        var lines = [pad("task", 24) + pad("K", 4) + pad("seeds", 7) + pad("examples", 10) + pad("acc", 16) + pad("acc_norm", 16) + "majority"]
        for score in scores {
            lines.append(pad(score.task, 24) + pad(String(score.shots), 4) + pad(String(score.seeds.count), 7)
                + pad(String(score.examples), 10) + pad(cell(score.acc, seeds: score.seeds.count), 16)
                + pad(cell(score.accNorm, seeds: score.seeds.count), 16) + String(format: "%.3f", score.majority))
        }
        return lines.joined(separator: "\n")
    }

    /// Writes `data` to `path` atomically; a failure names the path.
    public static func write(_ data: Data, to path: String) throws {
        try FileError.wrap("write", path: path) { try data.write(to: URL(fileURLWithPath: path), options: .atomic) }
    }

    /// JSON with snake_case keys, sorted, as --json and --log-likelihoods write it.
    public static func json<T: Encodable>(_ value: T, pretty: Bool = true) throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}
