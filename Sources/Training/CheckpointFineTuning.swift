import Foundation
import Layers
import Probes

/// `pretrain finetune` as a library call: CTC fine-tuning of an audio checkpoint's whole encoder for phoneme
/// recognition on a speech corpus (`ProbeTask.pr`), with a chosen number of labelled minutes, its result and
/// fine-tuned encoder written to a `FineTuningDirectory`.
public struct CheckpointFineTuning {
    /// An audio checkpoint or run directory.
    public var checkpoint: URL
    /// A `pretrain data synth-speech` corpus (manifest.jsonl).
    public var corpus: URL
    /// Minutes of labelled training speech drawn by `seed`; nil: the whole train split.
    public var labelledMinutes: Double?
    /// Seed of the labelled subset, the head, the batches, masks and dropout.
    public var seed: UInt64 = 0
    /// The checkpoint's encoder with fresh weights (the from-scratch baseline).
    public var randomInit = false
    public var settings = CTCFineTuningSettings()
    /// nil: RUN/finetune/pr-<minutes>-seed<seed>[-random-init] of the checkpoint's run.
    public var out: URL?

    public init(checkpoint: URL, corpus: URL) {
        self.checkpoint = checkpoint
        self.corpus = corpus
    }

    public struct Outcome {
        public var result: CTCFineTuningResult
        public var directory: FineTuningDirectory
    }

    /// Fine-tunes, scores the test split and writes result.json, checkpoint/ and ctc_head.safetensors. `log` gets
    /// the start line and the tuner's progress.
    public func run(log: @escaping (String) -> Void = { _ in }) throws -> Outcome {
        let loaded = try loadAudioEncoder(checkpoint, randomWeights: randomInit, seed: seed)
        let splits = try ProbeTask.pr.examples(corpus: corpus)
        let pool = splits["train"] ?? []
        let train = try labelledMinutes.map { try labelledSubset(pool, seconds: $0 * 60, seed: seed) } ?? pool
        let encoder = try FeatureEncoderFineTuning(encoder: loaded.encoder, normalization: loaded.normalization,
                                                   featureOptions: loaded.featureOptions)
        let tuner = CTCFineTuner(encoder: encoder, name: randomInit ? "random-init" : loaded.directory.path)
        tuner.log = log
        log("fine-tuning \(tuner.name) on \(train.count) labelled utterances, testing on \(splits["test"]?.count ?? 0)")
        let result = try tuner.run(splits: splits, train: train, task: .pr, seed: seed, settings: settings)

        let directory = out.map(FineTuningDirectory.init) ?? defaultDirectory(loaded.directory)
        try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true)
        let json = JSONEncoder()
        json.outputFormatting = [.prettyPrinted, .sortedKeys]
        try json.encode(result).write(to: directory.result, options: .atomic)
        try writeFineTunedCheckpoint(loaded, to: directory.checkpoint)
        try tuner.head!.save(to: directory.ctcHead)
        return Outcome(result: result, directory: directory)
    }

    func defaultDirectory(_ checkpointDirectory: URL) -> FineTuningDirectory {
        let minutes = labelledMinutes.map { String(format: "%gmin", $0) } ?? "all"
        return RunDirectory(ofCheckpoint: checkpointDirectory)
            .fineTuning(named: "pr-\(minutes)-seed\(seed)\(randomInit ? "-random-init" : "")")
    }
}

/// The source checkpoint of `loaded` with the encoder's weights replaced by its current (fine-tuned) ones, at
/// `destination`: every objective model keeps its encoder under `encoder.`, so loadAudioEncoder, `pretrain probe`
/// and a later teacher read it as any audio checkpoint. The source's other files (config, trainer state, feature
/// statistics) are copied byte for byte; its optimiser state is left out, as the checkpoint is not resumable.
public func writeFineTunedCheckpoint(_ loaded: LoadedAudioEncoder, to destination: URL) throws {
    var weights = try loadSafetensors(loaded.directory.appendingPathComponent(Checkpoint.modelFile))
    for (name, tensor) in loaded.encoder.namedParameters() { weights["encoder." + name] = tensor }
    var writer = CheckpointWriter(weights: weights, weightsMetadata: ["fine_tuned_from": loaded.directory.path])
    let skipped: Set = [Checkpoint.modelFile, Checkpoint.optimizerFile, Checkpoint.completeMarker]
    writer.copiedFiles = try FileManager.default.contentsOfDirectory(atPath: loaded.directory.path)
        .filter { !skipped.contains($0) }.sorted().map { loaded.directory.appendingPathComponent($0) }
    try writer.write(checkpointAt: destination)
}
