import ArgumentParser
import Foundation
import Probes
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
        var fineTuning = CheckpointFineTuning(checkpoint: URL(fileURLWithPath: checkpoint), corpus: URL(fileURLWithPath: corpus))
        fineTuning.settings.steps = steps
        fineTuning.settings.batchSize = batchSize
        fineTuning.settings.learningRate = lr
        fineTuning.settings.headLearningRateScale = headLRScale
        fineTuning.settings.freezeEncoderSteps = freezeEncoderSteps
        fineTuning.settings.timeMaskProbability = timeMask
        fineTuning.settings.logEvery = logEvery
        fineTuning.settings.devEvery = devEvery
        if let problem = fineTuning.settings.problem { throw ValidationError(problem) }
        (fineTuning.labelledMinutes, fineTuning.seed, fineTuning.randomInit) = (labelledMinutes, seed, randomInit)
        fineTuning.out = out.map { URL(fileURLWithPath: $0) }

        let outcome = try fineTuning.run(log: { print($0) })
        let result = outcome.result
        let selected = result.devPERs.isEmpty ? "" : String(format: " │ update %d (best dev PER %.4f)", result.selectedStep,
                                                                   result.devPERs.map(\.per).min()!)
        print(String(format: "finetune pr: PER %.4f (%d/%d phonemes) │ %.1f labelled min, %d utterances │ %d test%@ │ %@ → %@",
                     result.per, result.editErrors, result.referencePhonemes, result.labelledSeconds / 60,
                     result.trainUtterances, result.testUtterances, selected, result.encoder, outcome.directory.result.path))
    }
}
