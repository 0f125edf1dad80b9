import FileErrors
import Foundation
import TextClassification
import TextTasks
import Training

/// Every fine-tuning of the downstream study, each kept in OUT/finetune/<name>.json with a stamp of what it read (the
/// checkpoint's weights, the task's files, K, the seeds and the method), so `--reuse` skips one whose inputs are
/// unchanged.
struct StudyFineTuner {
    let study: StudyDownstream
    let console: ConsoleProgress
    /// The study's interrupt, asked before every fine-tuning update.
    let shouldStop: () -> Bool
    /// Wall time of the fine-tunings, reused ones as they ran then (those stored before times were kept: `untimed`).
    private(set) var seconds = 0.0
    private(set) var reused = 0
    private(set) var untimed = 0

    init(study: StudyDownstream, console: ConsoleProgress, shouldStop: @escaping () -> Bool = { false }) {
        (self.study, self.console, self.shouldStop) = (study, console, shouldStop)
    }

    private struct Stored: Codable {
        var stamp: String
        var report: FineTuningReport
        var seconds: Double?
    }

    /// The study's fine-tuning settings on `checkpoint` (its newest checkpoint when a run directory).
    func base(_ checkpoint: URL) -> TextClassifierFineTuning {
        var fineTuning = TextClassifierFineTuning(checkpoint: checkpoint)
        fineTuning.settings.steps = study.size.fineTuneSteps
        fineTuning.settings.batchSize = study.size.fineTuneBatch
        fineTuning.settings.learningRate = study.size.fineTuneLR
        fineTuning.settings.evaluateEvery = study.size.fineTuneEvaluateEvery
        fineTuning.maxLength = study.size.context
        fineTuning.shouldStop = shouldStop
        return fineTuning
    }

    /// Runs `body` on the base fine-tuning of `checkpoint` (or reuses its stored report) and returns the report.
    mutating func report(_ name: String, checkpoint: URL, task: TextTask, shots: Int?, variant: String,
                         _ body: (TextClassifierFineTuning) throws -> FineTuningReport) throws -> FineTuningReport {
        let url = study.out.appendingPathComponent("finetune").appendingPathComponent(name + ".json")
        let stamp = try Self.stamp(checkpoint: checkpoint, task: task, shots: shots, seeds: study.seeds, variant: variant,
                                   settings: "\(study.size.fineTuneSteps)/\(study.size.fineTuneBatch)/\(study.size.fineTuneLR)/\(study.size.context)"
                                        + "/\(study.size.fineTuneEvaluateEvery)")
        if study.reuse, let data = try? Data(contentsOf: url), let stored = try? JSONDecoder().decode(Stored.self, from: data),
           stored.stamp == stamp {
            reused += 1
            if let time = stored.seconds { seconds += time } else { untimed += 1 }
            return stored.report
        }
        console.message("── fine-tune \(name)")
        let started = Date()
        let report = try body(base(checkpoint))
        let time = Date().timeIntervalSince(started)
        seconds += time
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try FileError.createDirectory(url.deletingLastPathComponent())
        try FileError.wrap("write", path: url.path) { try encoder.encode(Stored(stamp: stamp, report: report, seconds: time)).write(to: url, options: .atomic) }
        return report
    }

    /// What a fine-tuning read: the weights' CRC-32C, the task's split files' CRC-32C, K, seeds, method and settings.
    static func stamp(checkpoint: URL, task: TextTask, shots: Int?, seeds: [UInt64], variant: String, settings: String) throws -> String {
        let located = try Checkpoint.locate(checkpoint)
        let weights = try CRC32C.checksum(ofFileAt: located.appendingPathComponent(Checkpoint.modelFile)).crc
        let files = try ["train.jsonl", "dev.jsonl", "test.jsonl", "unlabelled.jsonl"].map {
            String(try CRC32C.checksum(ofFileAt: task.directory.appendingPathComponent($0)).crc, radix: 16)
        }
        return "\(located.path)@\(String(weights, radix: 16)) \(files.joined(separator: ",")) K=\(shots.map(String.init) ?? "all") "
            + "seeds=\(seeds.map(String.init).joined(separator: ",")) \(variant) \(settings)"
    }
}

extension DownstreamRow {
    init(part: String, model: String, task: String, method: String, shots: Int?, report: FineTuningReport) {
        self.init(part: part, model: model, task: task, method: method, shots: shots,
                  accuracy: report.seeds.map(\.test.accuracy), macroF1: report.seeds.map(\.test.macroF1))
    }
}
