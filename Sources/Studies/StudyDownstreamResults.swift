import Foundation

/// One model × task × method × K, fine-tuned once per seed: its test accuracies (and macro-F1) in seed order.
public struct DownstreamRow: Codable, Equatable {
    /// "suite", "adaptive", "self-training", "flatness".
    public var part: String
    public var model: String
    public var task: String
    public var method: String
    public var shots: Int?
    public var accuracy: [Double]
    public var macroF1: [Double]
    public var mean: Double { accuracy.isEmpty ? .nan : accuracy.reduce(0, +) / Double(accuracy.count) }
    public var shotsLabel: String { shots.map(String.init) ?? "all" }
}

/// A task's trivial baselines at the suite's K, over the same seeds' samples.
public struct BaselineRow: Codable, Equatable {
    public var task: String
    public var shots: Int?
    public var majority: [Double]
    public var bagOfWords: [Double]
}

/// A decoder's zero-shot multiple-choice accuracy on a task (lm-evaluation-harness's acc and acc_norm).
public struct ZeroShotRow: Codable, Equatable {
    public var model: String
    public var task: String
    public var acc: Double
    public var accNorm: Double
    public var majority: Double
}

/// A route to the base GPT's val loss: the checkpoint chosen, its loss and flatness.
public struct FlatnessRow: Codable, Equatable {
    public var route: String
    public var checkpoint: String
    public var step: Int
    public var valLoss: Double
    public var trace: Double
    public var traceInterval: Double
    public var topEigenvalue: Double
}

/// How many unlabelled texts self-training labelled above its threshold, per task, K and seed.
public struct PseudoLabelRow: Codable, Equatable {
    public var task: String
    public var shots: Int?
    public var seed: UInt64
    public var kept: Int
    public var unlabelled: Int
}

/// What the downstream study measured (OUT/results.json).
public struct StudyDownstreamResults: Codable {
    public var size: String
    public var command: String
    public var tasks: [String] = []
    public var rows: [DownstreamRow] = []
    public var baselines: [BaselineRow] = []
    public var zeroShot: [ZeroShotRow] = []
    public var flatness: [FlatnessRow] = []
    public var pseudoLabels: [PseudoLabelRow] = []
    /// Test examples the zero-shot scores read.
    public var zeroShotLimit: Int?
    /// The base GPT's val loss, which the flatness routes are matched to.
    public var targetLoss: Double?
    public var machine = ""
    public var minutes = 0.0
    public var reusedRuns = 0
    public var reusedFineTunings = 0
    /// Reused fine-tunings stored without their time (not in `minutes`).
    public var untimedFineTunings = 0

    public init(size: String, command: String) { (self.size, self.command) = (size, command) }

    public func row(part: String, model: String, task: String, method: String, shots: Int?) -> DownstreamRow? {
        rows.first { $0.part == part && $0.model == model && $0.task == task && $0.method == method && $0.shots == shots }
    }
}
