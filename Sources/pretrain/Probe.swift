import ArgumentParser
import AudioData
import Foundation
import Layers
import Probes
import Tensors
import Training

/// `pretrain probe`: SUPERB-style probes of a frozen audio encoder (or a baseline) on the labelled subsets of a
/// `pretrain data synth-speech` corpus. Results go to JSON (the checkpoint's run directory, or --out) and a table.
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe", abstract: "Probe a frozen audio encoder (or a baseline) on KS, SID, LID and phoneme recognition.")

    @Argument(help: "An audio checkpoint or run directory (not needed for --baseline fbank).") var checkpoint: String?
    @Option(help: "The speech corpus (manifest.jsonl) made by `pretrain data synth-speech`.") var corpus: String
    @Option(help: "ks, sid, lid, pr, or a comma-separated list, or all.") var task = "all"
    @Option(name: .customLong("labels-per-class"), help: "Labelled training utterances per class (pr: this × 12 utterances).")
    var labelsPerClass = 10
    @Option(help: "Probe seeds (mean ± std over them).") var seeds = 3
    @Option(help: "fbank (normalised log-mel, no model) or random-init (the checkpoint's encoder with fresh weights).")
    var baseline: String?
    @Option(name: .customLong("init-seed"), help: "With --baseline random-init: the seed of the fresh weights (a few seeds show how much random encoders differ).")
    var initSeed: UInt64 = 0
    @Option(help: "Probe this layer alone (0: the encoder's input layer) instead of the learned weighted sum of all layers.")
    var layer: Int?
    @Option(help: "Write the results here (JSON) instead of CHECKPOINT_RUN/probes/.") var out: String?
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        Runtime.configure(threads: threads)
        let tasks = try parseTasks()
        guard seeds >= 1, labelsPerClass >= 1 else { throw ValidationError("--seeds and --labels-per-class must be ≥ 1") }
        var representation = try makeRepresentation()
        if let layer {
            do { representation = try SingleLayerRepresentation(representation, layer: layer) } catch {
                throw ValidationError("--layer: \(error)")
            }
        }
        let runner = ProbeRunner(corpus: URL(fileURLWithPath: corpus))
        runner.log = { print($0) }
        var results: [ProbeResult] = []
        for task in tasks {
            results.append(try runner.run(task, representation: representation, labelsPerClass: labelsPerClass,
                                          seeds: (0..<seeds).map { UInt64($0) }))
        }
        let destination = try resultsURL(representation: representation)
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(results).write(to: destination, options: .atomic)
        print("\n| representation | task | metric | labels/class | mean ± std over \(seeds) seeds |")
        print("|---|---|---|---|---|")
        for result in results {
            print(String(format: "| %@ | %@ | %@ | %d | %.4f ± %.4f |", result.representation, result.task.rawValue,
                         result.metric, result.labelsPerClass, result.mean, result.std))
        }
        print("wrote \(destination.path)")
    }

    func parseTasks() throws -> [ProbeTask] {
        if task == "all" { return ProbeTask.allCases }
        return try task.split(separator: ",").map { name in
            guard let parsed = ProbeTask(rawValue: String(name)) else {
                throw ValidationError("unknown task '\(name)'; choose from ks, sid, lid, pr or all")
            }
            return parsed
        }
    }

    func makeRepresentation() throws -> SpeechRepresentation {
        if initSeed != 0 && baseline != "random-init" { throw ValidationError("--init-seed applies to --baseline random-init only") }
        let randomName = initSeed == 0 ? "random-init" : "random-init-seed\(initSeed)"
        switch (baseline, checkpoint) {
        case ("fbank", _):
            var options = FbankOptions()
            options.numMelBins = 80
            if let checkpoint, try !isWaveformCheckpoint(URL(fileURLWithPath: checkpoint)) {
                options = try loadAudioEncoder(URL(fileURLWithPath: checkpoint)).featureOptions
            }
            return try FbankRepresentation(options: options)
        case ("random-init", let path?):
            let url = URL(fileURLWithPath: path)
            if try isWaveformCheckpoint(url) {
                return WaveformEncoderRepresentation(try loadWaveformEncoder(url, randomWeights: true, seed: initSeed),
                                                     name: randomName)
            }
            return try EncoderRepresentation(try loadAudioEncoder(url, randomWeights: true, seed: initSeed), name: randomName)
        case (nil, let path?):
            let url = URL(fileURLWithPath: path)
            if try isWaveformCheckpoint(url) { return WaveformEncoderRepresentation(try loadWaveformEncoder(url), name: path) }
            return try EncoderRepresentation(try loadAudioEncoder(url), name: path)
        case ("random-init", nil), (nil, nil):
            throw ValidationError("give an audio checkpoint (or --baseline fbank)")
        case (let other?, _):
            throw ValidationError("unknown --baseline '\(other)'; choose fbank or random-init")
        }
    }

    func resultsURL(representation: SpeechRepresentation) throws -> URL {
        if let out { return URL(fileURLWithPath: out) }
        let label = (baseline ?? "encoder") + (layer.map { "-layer\($0)" } ?? "")
        let base = checkpoint.map { try? Checkpoint.resolve(URL(fileURLWithPath: $0)) } ?? nil
        let directory = base?.deletingLastPathComponent().deletingLastPathComponent() ?? URL(fileURLWithPath: "runs/probes")
        return directory.appendingPathComponent("probes/\(label)-\(labelsPerClass)-per-class.json")
    }
}

/// A frozen audio encoder as a probe representation: fbank with the checkpoint's options and statistics, then
/// every layer's states along time (`LoadedAudioEncoder.timeStates`: patch states averaged over frequency).
final class EncoderRepresentation: SpeechRepresentation {
    let loaded: LoadedAudioEncoder
    let computer: FbankComputer
    let name: String
    var layerCount: Int { loaded.encoder.config.layers + 1 }
    var dimension: Int { loaded.encoder.config.hiddenSize }

    init(_ loaded: LoadedAudioEncoder, name: String) throws {
        self.loaded = loaded
        self.name = name
        computer = try FbankComputer(options: loaded.featureOptions)
    }

    func hiddenStates(_ waveform: Waveform) throws -> [Tensor] {
        try loaded.timeStates(try computer.compute(waveform))
    }
}

/// A frozen waveform encoder (wav2vec 2.0) as a probe representation: the 16 kHz samples, normalised per
/// utterance, in; every layer's states, one row per 20 ms, out.
final class WaveformEncoderRepresentation: SpeechRepresentation {
    let loaded: LoadedWaveformEncoder
    let name: String
    var layerCount: Int { loaded.encoder.config.layers + 1 }
    var dimension: Int { loaded.encoder.config.hiddenSize }

    init(_ loaded: LoadedWaveformEncoder, name: String) {
        self.loaded = loaded
        self.name = name
    }

    func hiddenStates(_ waveform: Waveform) throws -> [Tensor] {
        guard waveform.sampleRate == WaveformCorpus.sampleRate else {
            throw ValidationError("\(name) reads 16 kHz waveforms, got one at \(waveform.sampleRate) Hz")
        }
        return try loaded.timeStates(waveform.samples)
    }
}

/// `pretrain probe-table`: the results of several `pretrain probe` runs as one markdown table, a row per
/// representation and a column per task (mean ± std over the probe seeds).
struct ProbeTable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe-table", abstract: "Tabulate pretrain probe result files (markdown).")

    @Argument(help: "Result files written by pretrain probe (--out).") var files: [String]

    func run() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one result file") }
        var rows: [(name: String, results: [ProbeTask: ProbeResult])] = []
        for file in files {
            let url = URL(fileURLWithPath: file)
            let results: [ProbeResult]
            do { results = try JSONDecoder().decode([ProbeResult].self, from: Data(contentsOf: url)) } catch {
                throw ValidationError("\(file): not a pretrain probe result file (\(error))")
            }
            rows.append((url.deletingPathExtension().lastPathComponent,
                         Dictionary(results.map { ($0.task, $0) }, uniquingKeysWith: { $1 })))
        }
        let tasks = ProbeTask.allCases.filter { task in rows.contains { $0.results[task] != nil } }
        let seeds = rows.flatMap { $0.results.values.map { $0.scores.count } }.max() ?? 0
        print("| representation | " + tasks.map { $0 == .pr ? "PR PER ↓" : "\($0.rawValue.uppercased()) accuracy ↑" }
            .joined(separator: " | ") + " |")
        print("|---|" + String(repeating: "---|", count: tasks.count))
        for row in rows {
            let cells = tasks.map { task in
                row.results[task].map { String(format: "%.3f ± %.3f", $0.mean, $0.std) } ?? "–"
            }
            print("| \(row.name) | " + cells.joined(separator: " | ") + " |")
        }
        print("\nmean ± sample standard deviation over \(seeds) probe seeds; "
            + "labelled utterances per class: \(Set(rows.flatMap { $0.results.values.map(\.labelsPerClass) }).sorted().map(String.init).joined(separator: ", "))")
    }
}
