import FileErrors
import Foundation

/// One row of RUN/metrics.jsonl: what the trainer knew at a logged step.
///
/// Training fields are present on every row; the validation fields only on evaluation steps. Keys are
/// snake_case (`grad_norm`, `tokens_per_s`); the loss on a named validation set `name` is `val_loss/name`.
public struct MetricsRecord: Codable, Equatable {
    /// Updates taken so far (the row describes the update that ended at this step).
    public var step: Int
    /// Mean training loss (nats per predicted token) over the micro-batches since the previous row.
    public var loss: Double?
    /// Learning rate of the step's update.
    public var lr: Double?
    /// Global gradient norm before clipping, at this step.
    public var gradNorm: Double?
    /// Training tokens (B·T per micro-batch) per second of wall time since the previous row.
    public var tokensPerSecond: Double?
    /// Training tokens consumed since step 0.
    public var tokensSeen: Int?
    /// Updates skipped so far because the loss or the gradient norm was not finite.
    public var skippedUpdates: Int?
    /// Mean loss on the main validation set, its exponential (perplexity) and bits per UTF-8 byte.
    public var valLoss: Double?
    public var valPerplexity: Double?
    public var valBitsPerByte: Double?
    /// Loss on each named validation set (`data.val` of the recipe, mixture sources), keyed by name.
    public var namedValidationLosses: [String: Double]
    /// Training tokens drawn from each mixture source since step 0 (`tokens_seen/<source>`); empty for one corpus.
    public var sourceTokens: [String: Int]
    /// The last step's validation loss as predicted at this evaluation (LearningCurve), with its interval.
    public var predictedFinalLoss: Double?, predictedFinalLow: Double?, predictedFinalHigh: Double?
    /// What an objective reports besides its loss, written as `objective/<name>`: at evaluations
    /// (`EvaluationMetricsReporting`, BEATs' codebook usage) and while training (`StepAwareObjective`, wav2vec 2.0's).
    public var objectiveMetrics: [String: Double] = [:]
    /// A sparse run's settings and training FLOPs, in its first row, under their own names: `sparsity/fraction`,
    /// `sparsity/masked_weights`, `flops/dense`, `flops/sparse_equivalent` (`WeightSparsity.metrics`).
    public var sparsityMetrics: [String: Double] = [:]

    public init(step: Int, loss: Double? = nil, lr: Double? = nil, gradNorm: Double? = nil, tokensPerSecond: Double? = nil,
                tokensSeen: Int? = nil, skippedUpdates: Int? = nil, valLoss: Double? = nil, valPerplexity: Double? = nil,
                valBitsPerByte: Double? = nil, namedValidationLosses: [String: Double] = [:],
                sourceTokens: [String: Int] = [:]) {
        self.step = step
        self.loss = loss
        self.lr = lr
        self.gradNorm = gradNorm
        self.tokensPerSecond = tokensPerSecond
        self.tokensSeen = tokensSeen
        self.skippedUpdates = skippedUpdates
        self.valLoss = valLoss
        self.valPerplexity = valPerplexity
        self.valBitsPerByte = valBitsPerByte
        self.namedValidationLosses = namedValidationLosses
        self.sourceTokens = sourceTokens
    }

    /// True on rows written by an evaluation.
    public var isEvaluation: Bool { valLoss != nil || !namedValidationLosses.isEmpty }

    static let namedValidationPrefix = "val_loss/"
    static let sourceTokensPrefix = "tokens_seen/"
    static let objectiveMetricsPrefix = "objective/"
    static let sparsityMetricsPrefixes = ["sparsity/", "flops/"]

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }

        static let step = Key("step"), loss = Key("loss"), lr = Key("lr"), gradNorm = Key("grad_norm")
        static let tokensPerSecond = Key("tokens_per_s"), tokensSeen = Key("tokens_seen")
        static let skippedUpdates = Key("skipped_updates"), valLoss = Key("val_loss"), valPerplexity = Key("val_ppl")
        static let valBitsPerByte = Key("val_bpb")
        static let predictedFinal = [Key("predicted_final_loss"), Key("predicted_final_low"), Key("predicted_final_high")]
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        step = try container.decode(Int.self, forKey: .step)
        loss = try container.decodeIfPresent(Double.self, forKey: .loss)
        lr = try container.decodeIfPresent(Double.self, forKey: .lr)
        gradNorm = try container.decodeIfPresent(Double.self, forKey: .gradNorm)
        tokensPerSecond = try container.decodeIfPresent(Double.self, forKey: .tokensPerSecond)
        tokensSeen = try container.decodeIfPresent(Int.self, forKey: .tokensSeen)
        skippedUpdates = try container.decodeIfPresent(Int.self, forKey: .skippedUpdates)
        valLoss = try container.decodeIfPresent(Double.self, forKey: .valLoss)
        valPerplexity = try container.decodeIfPresent(Double.self, forKey: .valPerplexity)
        valBitsPerByte = try container.decodeIfPresent(Double.self, forKey: .valBitsPerByte)
        let predicted = try Key.predictedFinal.map { try container.decodeIfPresent(Double.self, forKey: $0) }
        (predictedFinalLoss, predictedFinalLow, predictedFinalHigh) = (predicted[0], predicted[1], predicted[2])
        namedValidationLosses = [:]
        for key in container.allKeys where key.stringValue.hasPrefix(Self.namedValidationPrefix) {
            let name = String(key.stringValue.dropFirst(Self.namedValidationPrefix.count))
            namedValidationLosses[name] = try container.decode(Double.self, forKey: key)
        }
        sourceTokens = [:]
        for key in container.allKeys where key.stringValue.hasPrefix(Self.sourceTokensPrefix) {
            sourceTokens[String(key.stringValue.dropFirst(Self.sourceTokensPrefix.count))] = try container.decode(Int.self, forKey: key)
        }
        for key in container.allKeys where key.stringValue.hasPrefix(Self.objectiveMetricsPrefix) {
            objectiveMetrics[String(key.stringValue.dropFirst(Self.objectiveMetricsPrefix.count))] = try container.decode(Double.self, forKey: key)
        }
        for key in container.allKeys where Self.sparsityMetricsPrefixes.contains(where: key.stringValue.hasPrefix) {
            sparsityMetrics[key.stringValue] = try container.decode(Double.self, forKey: key)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(step, forKey: .step)
        try container.encodeIfPresent(loss, forKey: .loss)
        try container.encodeIfPresent(lr, forKey: .lr)
        try container.encodeIfPresent(gradNorm, forKey: .gradNorm)
        try container.encodeIfPresent(tokensPerSecond, forKey: .tokensPerSecond)
        try container.encodeIfPresent(tokensSeen, forKey: .tokensSeen)
        try container.encodeIfPresent(skippedUpdates, forKey: .skippedUpdates)
        try container.encodeIfPresent(valLoss, forKey: .valLoss)
        try container.encodeIfPresent(valPerplexity, forKey: .valPerplexity)
        try container.encodeIfPresent(valBitsPerByte, forKey: .valBitsPerByte)
        for (key, value) in zip(Key.predictedFinal, [predictedFinalLoss, predictedFinalLow, predictedFinalHigh]) {
            try container.encodeIfPresent(value, forKey: key)
        }
        for (name, value) in namedValidationLosses.sorted(by: { $0.key < $1.key }) {
            try container.encode(value, forKey: Key(Self.namedValidationPrefix + name))
        }
        for (name, value) in sourceTokens.sorted(by: { $0.key < $1.key }) {
            try container.encode(value, forKey: Key(Self.sourceTokensPrefix + name))
        }
        for (name, value) in objectiveMetrics.sorted(by: { $0.key < $1.key }) {
            try container.encode(value, forKey: Key(Self.objectiveMetricsPrefix + name))
        }
        for (name, value) in sparsityMetrics.sorted(by: { $0.key < $1.key }) { try container.encode(value, forKey: Key(name)) }
    }

    /// One JSON line (no trailing newline). Non-finite numbers, which JSON cannot hold, are written as null.
    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(finiteOnly()), as: UTF8.self)
    }

    /// A copy with every non-finite value replaced by nil.
    func finiteOnly() -> MetricsRecord {
        func finite(_ value: Double?) -> Double? { value.flatMap { $0.isFinite ? $0 : nil } }
        var copy = self
        copy.loss = finite(loss)
        copy.lr = finite(lr)
        copy.gradNorm = finite(gradNorm)
        copy.tokensPerSecond = finite(tokensPerSecond)
        copy.valLoss = finite(valLoss)
        copy.valPerplexity = finite(valPerplexity)
        copy.valBitsPerByte = finite(valBitsPerByte)
        (copy.predictedFinalLoss, copy.predictedFinalLow, copy.predictedFinalHigh)
            = (finite(predictedFinalLoss), finite(predictedFinalLow), finite(predictedFinalHigh))
        copy.namedValidationLosses = namedValidationLosses.filter { $0.value.isFinite }
        copy.objectiveMetrics = objectiveMetrics.filter { $0.value.isFinite }
        copy.sparsityMetrics = sparsityMetrics.filter { $0.value.isFinite }
        return copy
    }
}

public struct MetricsError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Every row of a metrics.jsonl file, in file order. Blank lines are ignored; a malformed line is an error naming
/// the file and line, except a truncated last line (a run killed mid-write), which is dropped.
public func readMetrics(_ url: URL) throws -> [MetricsRecord] {
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
        throw MetricsError(message: FileError(error, operation: "read the metrics", path: url.path).description)
    }
    let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    let decoder = JSONDecoder()
    var records: [MetricsRecord] = []
    for (index, line) in lines.enumerated() where !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) {
        do {
            records.append(try decoder.decode(MetricsRecord.self, from: Data(line)))
        } catch {
            let isUnterminatedLast = index == lines.count - 1 && data.last != UInt8(ascii: "\n")
            if isUnterminatedLast { break }
            throw MetricsError(message: "\(url.path):\(index + 1): not a metrics row: \(error)")
        }
    }
    return records
}
