import Foundation
import Training

/// What the knowledge-transfer study measured: one row per finished arm and seed (OUT/results.json).
public struct StudyTransferResults: Codable {
    public enum Question: String, Codable, CaseIterable {
        case kd, salt, ernie, selfDistillation = "self_distillation", growth, spdf
    }

    public struct Row: Codable {
        public var question: Question
        public var arm: String
        public var seed: Int
        public var run: String
        public var steps: Int
        /// The last evaluation (the whole val split), its bits per byte (causal LMs) and the lowest val loss seen.
        public var finalLoss: Double
        public var finalBitsPerByte: Double?
        public var bestLoss: Double
        /// Each evaluation: (step, val loss).
        public var curve: [[Double]]
        /// The sparse pre-training run's first-row numbers (SPDF: fraction and FLOPs).
        public var sparsity: [String: Double]
    }

    public var size: String
    public var command: String
    public var machine: String
    /// The runs' wall times added up, and this invocation's (shorter when runs were reused).
    public var minutes = 0.0
    public var wallMinutes = 0.0
    public var reusedRuns = 0
    public var rows: [Row] = []
    public var selection: SLMDataSelection.Summary?
    /// Training FLOPs of one step of the "small" and the "large" model.
    public var flopsPerStep: [String: Double] = [:]
    /// A growth arm with `two_stage:`: each first-stage step's training FLOPs as a share of a whole large-model step.
    public var stepCosts: [String: [Double]] = [:]

    init(size: String, command: String, machine: String) {
        (self.size, self.command, self.machine) = (size, command, machine)
    }

    mutating func add(_ question: Question, _ arm: String, seed: Int, _ run: StudyRunner.FinishedRun, flops sparseRun: [MetricsRecord] = []) {
        let evaluations = run.records.filter { $0.valLoss != nil }
        let last = evaluations.last
        rows.append(Row(question: question, arm: arm, seed: seed, run: run.directory.lastPathComponent,
                        steps: last?.step ?? 0, finalLoss: last?.valLoss ?? .nan, finalBitsPerByte: last?.valBitsPerByte,
                        bestLoss: evaluations.compactMap(\.valLoss).min() ?? .nan,
                        curve: evaluations.map { [Double($0.step), $0.valLoss!] },
                        sparsity: sparseRun.first { !$0.sparsityMetrics.isEmpty }?.sparsityMetrics ?? [:]))
    }

    /// The rows of one arm of one question, over its seeds.
    public func arm(_ question: Question, _ name: String) -> [Row] { rows.filter { $0.question == question && $0.arm == name } }

    /// The arms of a question in the order they ran.
    public func arms(_ question: Question) -> [String] {
        var names: [String] = []
        for row in rows where row.question == question && !names.contains(row.arm) { names.append(row.arm) }
        return names
    }
}

/// Mean and sample standard deviation (0 for one value).
func meanAndDeviation(_ values: [Double]) -> (mean: Double, deviation: Double) {
    guard !values.isEmpty else { return (.nan, .nan) }
    let mean = values.reduce(0, +) / Double(values.count)
    guard values.count > 1 else { return (mean, 0) }
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
    return (mean, variance.squareRoot())
}

extension StudyTransferResults.Row: SeededRow {}
