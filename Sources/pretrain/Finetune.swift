import ArgumentParser
import Foundation
import Layers
import Probes
import SafeTensors
import Tensors
import Training

/// `pretrain finetune CKPT --task pr`: CTC fine-tuning of a whole pre-trained audio encoder on the phoneme
/// recognition subset of a `pretrain data synth-speech` corpus, with a chosen number of labelled minutes; PER on
/// the test split, written as JSON.
struct Finetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune an audio encoder with a CTC head for phoneme recognition; PER on the test split.",
        discussion: """
            Adds a linear CTC head over the corpus' phonemes and a blank to the encoder's last layer and trains both \
            with AdamW (head at --head-lr-scale × --lr; tri-stage schedule: 10 % warmup, 40 % hold, 50 % decay), \
            with time masking and the checkpoint's dropout. Writes result.json (PER, loss curve, settings), \
            checkpoint/ (the fine-tuned encoder as an audio checkpoint, for probes or as a teacher) and \
            ctc_head.safetensors to --out.
            Example: pretrain finetune runs/bestrq --corpus data/speech --labelled-minutes 10 --seed 0
            """)

    @Argument(help: "An audio checkpoint or run directory.") var checkpoint: String
    @Option(help: "The speech corpus (manifest.jsonl) made by `pretrain data synth-speech`.") var corpus = "data/speech"
    @Option(help: "The task: pr (phoneme recognition, CTC).") var task = "pr"
    @Option(name: .customLong("labelled-minutes"), help: "Minutes of labelled training speech, chosen by --seed (default: the whole train split).")
    var labelledMinutes: Double?
    @Option(help: "Updates.") var steps = CTCFineTuningSettings().steps
    @Option(name: .customLong("batch-size"), help: "Utterances per update.") var batchSize = CTCFineTuningSettings().batchSize
    @Option(help: "Peak learning rate of the encoder.") var lr = CTCFineTuningSettings().learningRate
    @Option(name: .customLong("head-lr-scale"), help: "The CTC head's learning rate over the encoder's.")
    var headLRScale = CTCFineTuningSettings().headLearningRateScale
    @Option(name: .customLong("freeze-encoder-steps"), help: "Updates at the start during which only the head learns.")
    var freezeEncoderSteps = 0
    @Option(name: .customLong("time-mask"), help: "Time-masking probability (0 turns it off); spans of 10 frames.")
    var timeMask = CTCFineTuningSettings().timeMaskProbability
    @Option(name: .customLong("log-every"), help: "Updates per logged (mean) loss.") var logEvery = CTCFineTuningSettings().logEvery
    @Option(name: .customLong("dev-every"), help: "Updates between scorings of the dev split; the best dev PER's weights score the test split (0: the last update's).")
    var devEvery = CTCFineTuningSettings().devEvery
    @Option(help: "Seed of the labelled subset, the head, the batches, masks and dropout.") var seed: UInt64 = 0
    @Flag(name: .customLong("random-init"), help: "The checkpoint's encoder with fresh random weights (the from-scratch baseline).")
    var randomInit = false
    @Option(help: "Output directory (default: CHECKPOINT_RUN/finetune/pr-<minutes>-seed<seed>[-random-init]).") var out: String?
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        Runtime.configure(threads: threads)
        setvbuf(stdout, nil, _IOLBF, 0)   // progress lines reach a log file as they are printed
        guard let parsedTask = ProbeTask(rawValue: task), parsedTask == .pr else {
            throw ValidationError("--task \(task): fine-tuning supports pr (CTC phoneme recognition)")
        }
        var settings = CTCFineTuningSettings()
        settings.steps = steps
        settings.batchSize = batchSize
        settings.learningRate = lr
        settings.headLearningRateScale = headLRScale
        settings.freezeEncoderSteps = freezeEncoderSteps
        settings.timeMaskProbability = timeMask
        settings.logEvery = logEvery
        settings.devEvery = devEvery
        if let problem = settings.problem { throw ValidationError(problem) }

        let loaded = try loadAudioEncoder(URL(fileURLWithPath: checkpoint), randomWeights: randomInit, seed: seed)
        let splits = try parsedTask.examples(corpus: URL(fileURLWithPath: corpus))
        let pool = splits["train"]!
        let train = try labelledMinutes.map { try labelledSubset(pool, seconds: $0 * 60, seed: seed) } ?? pool
        let encoder = try FeatureEncoderFineTuning(encoder: loaded.encoder, normalization: loaded.normalization,
                                                   featureOptions: loaded.featureOptions)
        let tuner = CTCFineTuner(encoder: encoder, name: randomInit ? "random-init" : loaded.directory.path)
        tuner.log = { print($0) }
        print("fine-tuning \(tuner.name) on \(train.count) labelled utterances, testing on \(splits["test"]!.count)")
        let result = try tuner.run(splits: splits, train: train, task: parsedTask, seed: seed, settings: settings)

        let directory = out.map { URL(fileURLWithPath: $0) } ?? defaultDirectory(loaded.directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let destination = directory.appendingPathComponent("result.json")
        let encoderJSON = JSONEncoder()
        encoderJSON.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoderJSON.encode(result).write(to: destination, options: .atomic)
        try saveCheckpoint(loaded, head: tuner.head!, in: directory)
        let selected = result.devPERs.isEmpty ? "" : String(format: " │ update %d (best dev PER %.4f)", result.selectedStep,
                                                                   result.devPERs.map(\.per).min()!)
        print(String(format: "finetune pr: PER %.4f (%d/%d phonemes) │ %.1f labelled min, %d utterances │ %d test%@ │ %@ → %@",
                     result.per, result.editErrors, result.referencePhonemes, result.labelledSeconds / 60,
                     result.trainUtterances, result.testUtterances, selected, result.encoder, destination.path))
    }

    /// OUT/checkpoint: the source checkpoint with the encoder's weights replaced by the fine-tuned ones, so that
    /// loadAudioEncoder, `pretrain probe` and a later teacher read it as any audio checkpoint (every objective model
    /// keeps its encoder under `encoder.`); OUT/ctc_head.safetensors: the head (classes: blank, then the inventory).
    func saveCheckpoint(_ loaded: LoadedAudioEncoder, head: Linear, in directory: URL) throws {
        let checkpoint = directory.appendingPathComponent("checkpoint")
        let files = FileManager.default
        try? files.removeItem(at: checkpoint)
        try files.createDirectory(at: checkpoint, withIntermediateDirectories: true)
        for name in try files.contentsOfDirectory(atPath: loaded.directory.path)
        where name != Checkpoint.modelFile && name != Checkpoint.optimizerFile && name != Checkpoint.completeMarker {
            try files.copyItem(at: loaded.directory.appendingPathComponent(name), to: checkpoint.appendingPathComponent(name))
        }
        var weights = try loadSafetensors(loaded.directory.appendingPathComponent(Checkpoint.modelFile))
        for (name, tensor) in loaded.encoder.namedParameters() { weights["encoder." + name] = tensor }
        var writer = SafeTensorsWriter(metadata: ["fine_tuned_from": loaded.directory.path])
        for name in weights.keys.sorted() {
            let tensor = weights[name]!
            try writer.add(name, shape: tensor.shape, floats: UnsafeBufferPointer(start: tensor.data, count: tensor.count))
        }
        try writer.write(to: checkpoint.appendingPathComponent(Checkpoint.modelFile))
        try Data().write(to: checkpoint.appendingPathComponent(Checkpoint.completeMarker))
        try head.save(to: directory.appendingPathComponent("ctc_head.safetensors"))
    }

    func defaultDirectory(_ checkpointDirectory: URL) -> URL {
        let run = checkpointDirectory.deletingLastPathComponent().deletingLastPathComponent()
        let minutes = labelledMinutes.map { String(format: "%gmin", $0) } ?? "all"
        return run.appendingPathComponent("finetune/pr-\(minutes)-seed\(seed)\(randomInit ? "-random-init" : "")")
    }
}
