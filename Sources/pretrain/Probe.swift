import ArgumentParser
import AudioData
import FileErrors
import Foundation
import Probes
import Tensors
import Training

/// `pretrain probe`: SUPERB-style probes of a frozen audio encoder (or a baseline) on the labelled subsets of a
/// `pretrain data synth-speech` corpus. Results go to JSON (the checkpoint's run directory, or --out) and a table.
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe", abstract: "Probe a frozen audio encoder (or a baseline) on speech (KS, SID, LID, PR) or music (instrument, pitch, key, tempo) tasks.")

    @Argument(help: "An audio checkpoint or run directory (not needed for --baseline fbank).") var checkpoint: String?
    @Option(help: "The corpus (manifest.jsonl) made by `pretrain data synth-speech` or `synth-music`.") var corpus: String
    @Option(help: "ks, sid, lid, pr (speech), instrument, pitch, key, tempo (music), a comma-separated list, speech, music, or all (every task the corpus has).") var task = "all"
    @Option(name: .customLong("labels-per-class"), help: "Labelled training utterances per class (pr: this × 12 utterances).")
    var labelsPerClass = 10
    @Option(help: "Probe seeds (mean ± std over them).") var seeds = 3
    @Option(help: "fbank (normalised log-mel, no model), cqt (normalised log constant-Q) or random-init (the checkpoint's encoder with fresh weights).")
    var baseline: String?
    @Option(name: .customLong("init-seed"), help: "With --baseline random-init: the seed of the fresh weights (a few seeds show how much random encoders differ).")
    var initSeed: UInt64 = 0
    @Option(help: "Probe this layer alone (0: the encoder's input layer) instead of the learned weighted sum of all layers.")
    var layer: Int?
    @Option(help: "Write the results here (JSON) instead of CHECKPOINT_RUN/probes/.") var out: String?
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("where"), help: "FIELD=VALUE[,VALUE…]: probe only the corpus lines whose manifest field is one of the values, e.g. gender=female (repeatable).")
    var filters: [String] = []

    func run() throws {
        Runtime.configure(threads: threads)
        let tasks = try parseTasks()
        guard seeds >= 1, labelsPerClass >= 1 else { throw ValidationError("--seeds and --labels-per-class must be ≥ 1") }
        var representation = try probedRepresentation().make()
        if let layer {
            do { representation = try SingleLayerRepresentation(representation, layer: layer) } catch {
                throw ValidationError("--layer: \(error)")
            }
        }
        let runner = ProbeRunner(corpus: URL(fileURLWithPath: corpus))
        runner.filters = try filters.map { try ManifestFilter(parsing: $0) }
        var results: [ProbeResult] = []
        for task in tasks {
            let progress = TaskProgress("probe \(task.rawValue) encoding", unit: "utterances")
            runner.log = { progress.message($0) }
            runner.progress = { progress.update(Double($0), of: Double($1)) }
            results.append(try runner.run(task, representation: representation, labelsPerClass: labelsPerClass,
                                          seeds: (0..<seeds).map { UInt64($0) }))
            progress.finish()
        }
        let destination = resultsURL()
        try FileError.createDirectory(destination.deletingLastPathComponent())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(results).write(to: destination, options: .atomic)
        print("")
        ProbeResultTable.lines(of: results, seeds: seeds).forEach { print($0) }
        print("wrote \(destination.path)")
    }

    func parseTasks() throws -> [ProbeTask] {
        switch task {
        case "all": return try ProbeTask.available(corpus: URL(fileURLWithPath: corpus))
        case "speech": return ProbeTask.speech
        case "music": return ProbeTask.music
        default: break
        }
        return try task.split(separator: ",").map { name in
            guard let parsed = ProbeTask(rawValue: String(name)) else {
                throw ValidationError("unknown task '\(name)'; choose from \(ProbeTask.allCases.map(\.rawValue).joined(separator: ", ")), speech, music or all")
            }
            return parsed
        }
    }

    func probedRepresentation() throws -> ProbedRepresentation {
        if initSeed != 0 && baseline != "random-init" { throw ValidationError("--init-seed applies to --baseline random-init only") }
        switch (baseline, checkpoint) {
        case ("fbank", _): return .fbank(featuresOf: checkpoint.map { URL(fileURLWithPath: $0) })
        case ("cqt", _): return .constantQ
        case ("random-init", let path?): return .randomInit(URL(fileURLWithPath: path), seed: initSeed)
        case (nil, let path?): return .checkpoint(URL(fileURLWithPath: path), name: path)
        case ("random-init", nil), (nil, nil): throw ValidationError("give an audio checkpoint (or --baseline fbank)")
        case (let other?, _): throw ValidationError("unknown --baseline '\(other)'; choose fbank, cqt or random-init")
        }
    }

    /// --out, else RUN/probes/<baseline or encoder>[-layerL]-<labels>-per-class.json of the checkpoint's run.
    func resultsURL() -> URL {
        if let out { return URL(fileURLWithPath: out) }
        let label = (baseline ?? "encoder") + (layer.map { "-layer\($0)" } ?? "")
        let base = checkpoint.flatMap { try? Checkpoint.locate(URL(fileURLWithPath: $0)) }
        let run = base.map { RunDirectory(ofCheckpoint: $0) } ?? .probesWithoutRun
        return run.probeResults(named: "\(label)-\(labelsPerClass)-per-class")
    }
}
