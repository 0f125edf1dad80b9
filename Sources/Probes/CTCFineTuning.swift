import AudioData
import Foundation
import Layers
import Optimizers
import Tensors

/// How `CTCFineTuner` trains. The defaults follow the low-resource fine-tuning of wav2vec 2.0 and HuBERT (fairseq's
/// base_10m configs), scaled to a small model and a few minutes of labels on a CPU:
/// - one tri-stage schedule (10 % linear warmup, 40 % hold, 50 % linear decay to 5 % of the peak), the
///   `LearningRateSchedule.wsd` shape;
/// - the freshly initialised CTC head learns at `headLearningRateScale` × the encoder's rate: a zero head gives the
///   encoder no gradient until the head has learned something, and a higher head rate keeps early updates from
///   pushing the pre-trained encoder around for a random head (fairseq reaches the same end by freezing the encoder
///   for `freeze_finetune_updates`, which `freezeEncoderSteps` also offers);
/// - masking along time (SpecAugment/HuBERT `mask_prob` style): about `timeMaskProbability` · T / span span starts
///   per utterance, each zeroing `timeMaskSpan` input rows (for normalised fbank, the mean), during training only;
///   the checkpoint's dropout is active during training too;
/// - the best checkpoint by the dev split's PER (fairseq's `best_checkpoint_metric`): every `devEvery` updates the
///   dev split is scored and the best encoder and head kept; the test split is scored with them. A few minutes of
///   labels are overfitted within a thousand updates, sooner from a good start than from random weights.
public struct CTCFineTuningSettings: Codable, Equatable, Sendable {
    public var steps = 1000
    public var batchSize = 8
    /// Peak learning rate of the encoder.
    public var learningRate: Float = 2e-4
    public var headLearningRateScale: Float = 10
    public var weightDecay: Float = 0.01
    public var clip: Float = 1
    /// The encoder is frozen (only the head learns) for the first steps (fairseq's freeze_finetune_updates).
    public var freezeEncoderSteps = 0
    public var timeMaskProbability: Double = 0.25
    public var timeMaskSpan = 10
    public var logEvery = 50
    /// Updates between scorings of the dev split (when the corpus has one); 0 scores the test split with the last update.
    public var devEvery = 100

    public init() {}

    enum CodingKeys: String, CodingKey {
        case steps, clip
        case batchSize = "batch_size", learningRate = "lr", headLearningRateScale = "head_lr_scale"
        case weightDecay = "weight_decay", freezeEncoderSteps = "freeze_encoder_steps"
        case timeMaskProbability = "time_mask_prob", timeMaskSpan = "time_mask_span", logEvery = "log_every"
        case devEvery = "dev_every"
    }

    /// The tri-stage schedule of the encoder's rate (the head's is `headLearningRateScale` times it).
    public var schedule: LearningRateSchedule {
        let warmup = max(1, steps / 10), stable = steps * 4 / 10
        return .wsd(maxLR: learningRate, minLR: learningRate * 0.05, warmup: warmup, stable: stable,
                    decay: max(1, steps - warmup - stable))
    }

    /// A problem with the settings, or nil.
    public var problem: String? {
        if steps < 1 { return "steps must be ≥ 1, got \(steps)" }
        if batchSize < 1 || logEvery < 1 { return "batch size and log interval must be ≥ 1" }
        if devEvery < 0 { return "dev interval must be ≥ 0 (0: no dev scoring), got \(devEvery)" }
        if !(learningRate > 0) || !(headLearningRateScale > 0) { return "learning rates must be positive" }
        if freezeEncoderSteps < 0 { return "freeze-encoder steps must be ≥ 0, got \(freezeEncoderSteps)" }
        if !(0..<1).contains(timeMaskProbability) || timeMaskSpan < 1 { return "time mask probability must be in [0, 1) and its span ≥ 1" }
        return nil
    }
}

/// The outcome of one fine-tuning run: phoneme error rate on the test split, the training curve, what was used.
public struct CTCFineTuningResult: Codable, Equatable {
    public struct LossPoint: Codable, Equatable {
        public var step: Int
        /// Mean CTC loss (per target phoneme, torch's "mean") over the steps since the previous point.
        public var loss: Double
    }

    public var task: ProbeTask
    public var encoder: String
    public var seed: UInt64
    public var labelledSeconds: Double
    public var trainUtterances: Int
    public var testUtterances: Int
    public var phonemeInventory: [String]
    public var per: Double
    public var editErrors: Int
    public var referencePhonemes: Int
    /// Training utterances drawn with fewer encoder steps than CTC needs for their phonemes (labels plus one blank
    /// between repeats): they contribute no loss (torch's zero_infinity). Many of them mean the encoder's time
    /// resolution is too coarse for the task (e.g. 16-frame patches).
    public var infeasibleTrainUtterances: Int
    public var losses: [LossPoint]
    /// The dev split's PER every `devEvery` updates (empty without a dev split or with devEvery 0).
    public var devPERs: [PERPoint]
    /// The update whose encoder and head scored the test split: the best dev PER's, else the last.
    public var selectedStep: Int
    public var settings: CTCFineTuningSettings

    public struct PERPoint: Codable, Equatable {
        public var step: Int
        public var per: Double
    }

    enum CodingKeys: String, CodingKey {
        case task, encoder, seed, per, losses, settings
        case devPERs = "dev_pers", selectedStep = "selected_step"
        case labelledSeconds = "labelled_seconds", trainUtterances = "train_utterances"
        case testUtterances = "test_utterances", phonemeInventory = "phoneme_inventory"
        case editErrors = "edit_errors", referencePhonemes = "reference_phonemes"
        case infeasibleTrainUtterances = "infeasible_train_utterances"
    }
}

/// CTC fine-tuning of a whole speech encoder for phoneme recognition (wav2vec 2.0 §4, HuBERT §IV-C): a linear
/// head over the task's phonemes and a blank on the last layer, trained with the encoder by AdamW on the labelled
/// training utterances, then greedy decoding and phoneme error rate on the test split. Data, phoneme ids,
/// decoding and PER are the phoneme probe's.
public final class CTCFineTuner {
    public let encoder: FineTunableEncoder
    /// Shown in results ("a checkpoint path", "random-init").
    public let name: String
    public var log: (String) -> Void = { _ in }
    /// The CTC head of the last run (classes: blank, then `phonemeInventory` in order).
    public private(set) var head: Linear?

    public init(encoder: FineTunableEncoder, name: String) {
        self.encoder = encoder
        self.name = name
    }

    /// One utterance as the loop uses it: encoder input and phoneme ids.
    struct Utterance {
        var input: FeatureMatrix
        var phonemes: [Int32]
    }

    /// Fine-tunes on `train` (a labelled subset of `splits["train"]`) and scores `splits["test"]`. The phoneme
    /// inventory is that of the whole task (every split), so a seed's subset does not change the head's classes.
    public func run(splits: [String: [ProbeExample]], train: [ProbeExample], task: ProbeTask = .pr, seed: UInt64,
                    settings: CTCFineTuningSettings = CTCFineTuningSettings()) throws -> CTCFineTuningResult {
        guard task == .pr else { throw ProbeDataError("fine-tuning is CTC phoneme recognition: --task pr, not \(task.rawValue)") }
        if let problem = settings.problem { throw ProbeDataError("fine-tuning settings: \(problem)") }
        guard let test = splits["test"], !test.isEmpty, !train.isEmpty else {
            throw ProbeDataError("fine-tuning needs training utterances and a test split")
        }
        let (inventory, ids) = phonemeIds(splits.values.flatMap { $0 } + train)
        var seconds = 0.0
        func utterances(_ examples: [ProbeExample]) throws -> [Utterance] {
            try examples.map { example in
                let waveform = try Waveform(contentsOf: example.audio)
                seconds += waveform.duration
                return Utterance(input: try encoder.input(waveform), phonemes: example.phonemes.map { ids[$0]! })
            }
        }
        let trainSet = try utterances(train)
        let labelledSeconds = seconds
        let testSet = try utterances(test)
        let devSet = settings.devEvery > 0 ? try utterances(splits["dev"] ?? []) : []
        let classes = inventory.count + 1

        Random.generator = RandomGenerator(seed: seed)   // dropout draws
        let head = Linear(encoder.dimension, classes, generator: &Random.generator)
        noGrad {
            head.weight.data.update(repeating: 0, count: head.weight.count)
            head.bias!.data.update(repeating: 0, count: classes)
        }
        self.head = head
        let model = encoder.module
        model.freeze(false)
        model.train()
        // Separate optimisers, so the encoder's Adam moments and bias correction start when it starts learning.
        let headOptimizer = AdamW(groups: [ParameterGroup(parameters: head.namedParameters(), weightDecay: settings.weightDecay)],
                                  learningRate: settings.learningRate, beta1: 0.9, beta2: 0.98, epsilon: 1e-8)
        let encoderOptimizer = AdamW(groups: ParameterGroup.decayByRank(model, weightDecay: settings.weightDecay),
                                     learningRate: settings.learningRate, beta1: 0.9, beta2: 0.98, epsilon: 1e-8)
        let schedule = settings.schedule
        var random = SplitMix(seed: seed ^ 0x5EED_F17E)
        var losses: [CTCFineTuningResult.LossPoint] = [], windowLoss = 0.0, windowSteps = 0
        var infeasible = Set<Int>()
        var devPERs: [CTCFineTuningResult.PERPoint] = [], best: (step: Int, per: Double, weights: [[Float]])? = nil
        for step in 0..<settings.steps {
            let frozen = step < settings.freezeEncoderSteps
            let picks = (0..<min(settings.batchSize, trainSet.count)).map { _ in Int(random.next() % UInt64(trainSet.count)) }
            let batch = picks.map { trainSet[$0] }
            let inputs = batch.map { maskedTime($0.input, settings: settings, random: &random) }
            let (states, lengths) = frozen ? noGrad { encoder.states(inputs) } : encoder.states(inputs)
            for (row, index) in picks.enumerated() where lengths[row] < ctcMinimumSteps(batch[row].phonemes) {
                if infeasible.insert(index).inserted && infeasible.count <= 3 {
                    log("warning: training utterance \(train[index].audio.lastPathComponent) has \(lengths[row]) encoder steps "
                        + "for \(batch[row].phonemes.count) phonemes; CTC cannot align it")
                }
            }
            let loss = ctcLoss(logits: head(states), logitLengths: lengths, targets: batch.map(\.phonemes))
            head.zeroGrad()
            model.zeroGrad()
            loss.backward()
            let norm = clipGradNorm(head.parameters + (frozen ? [] : model.trainableParameters), maxNorm: settings.clip)
            let rate = schedule.learningRate(at: step)
            if norm.isFinite {   // a non-finite gradient skips the update, as the trainer does
                headOptimizer.learningRate = rate * settings.headLearningRateScale
                headOptimizer.step()
                if !frozen {
                    encoderOptimizer.learningRate = rate
                    encoderOptimizer.step()
                }
            }
            windowLoss += Double(loss.item)
            windowSteps += 1
            if (step + 1) % settings.logEvery == 0 || step + 1 == settings.steps {
                losses.append(.init(step: step + 1, loss: windowLoss / Double(windowSteps)))
                log(String(format: "step %d/%d │ ctc loss %.4f │ lr %.2e%@", step + 1, settings.steps,
                           windowLoss / Double(windowSteps), rate, frozen ? " (encoder frozen)" : ""))
                (windowLoss, windowSteps) = (0, 0)
            }
            if !devSet.isEmpty && ((step + 1) % settings.devEvery == 0 || step + 1 == settings.steps) {
                model.eval()
                let (errors, reference) = score(devSet, head: head, batchSize: settings.batchSize)
                model.train()
                let per = Double(errors) / Double(max(reference, 1))
                devPERs.append(.init(step: step + 1, per: per))
                if best == nil || per < best!.per {
                    best = (step + 1, per, (head.parameters + model.parameters).map(\.scalars))
                }
                log(String(format: "step %d/%d │ dev PER %.4f%@", step + 1, settings.steps, per, best!.step == step + 1 ? " (best)" : ""))
            }
        }
        if let best, best.step != settings.steps {   // the best dev update's weights score the test split
            noGrad {
                for (tensor, values) in zip(head.parameters + model.parameters, best.weights) {
                    tensor.data.update(from: values, count: values.count)
                }
            }
        }
        if !infeasible.isEmpty {
            log("warning: \(infeasible.count) of \(train.count) training utterances have too few encoder steps for CTC")
        }
        head.zeroGrad()
        model.zeroGrad()
        model.eval()
        let (errors, reference) = score(testSet, head: head, batchSize: settings.batchSize)
        return CTCFineTuningResult(task: task, encoder: name, seed: seed, labelledSeconds: labelledSeconds,
                                   trainUtterances: train.count, testUtterances: test.count, phonemeInventory: inventory,
                                   per: Double(errors) / Double(max(reference, 1)), editErrors: errors,
                                   referencePhonemes: reference, infeasibleTrainUtterances: infeasible.count,
                                   losses: losses, devPERs: devPERs, selectedStep: best?.step ?? settings.steps,
                                   settings: settings)
    }

    /// The fewest frames a CTC path for `labels` needs: one per label and a blank between equal neighbours.
    func ctcMinimumSteps(_ labels: [Int32]) -> Int {
        labels.count + zip(labels, labels.dropFirst()).filter { $0 == $1 }.count
    }

    /// Greedy decoding of `utterances` in batches → edit distance to the references and their phoneme count.
    func score(_ utterances: [Utterance], head: Linear, batchSize: Int) -> (errors: Int, reference: Int) {
        let classes = head.outFeatures
        var errors = 0, reference = 0
        for start in stride(from: 0, to: utterances.count, by: batchSize) {
            let batch = Array(utterances[start..<min(start + batchSize, utterances.count)])
            let (scores, lengths) = noGrad { () -> (Tensor, [Int]) in
                let (states, lengths) = encoder.states(batch.map(\.input))
                return (head(states), lengths)
            }
            let frames = scores.size(1)
            for (row, utterance) in batch.enumerated() {
                let decoded = greedyDecode(scores.data + row * frames * classes, frames: lengths[row], classes: classes)
                errors += editDistance(decoded, utterance.phonemes)
                reference += utterance.phonemes.count
            }
        }
        return (errors, reference)
    }

    /// SpecAugment-style time masking: ⌊p·T/span + U(0,1)⌋ spans of `span` rows at uniform starts, set to zero.
    func maskedTime(_ input: FeatureMatrix, settings: CTCFineTuningSettings, random: inout SplitMix) -> FeatureMatrix {
        guard settings.timeMaskProbability > 0 else { return input }
        let rows = input.frameCount, span = settings.timeMaskSpan
        let uniform = { (random: inout SplitMix) in Double(random.next() >> 11) / Double(1 << 53) }
        let spans = Int(settings.timeMaskProbability * Double(rows) / Double(span) + uniform(&random))
        var masked = input
        for _ in 0..<spans {
            let start = Int(random.next() % UInt64(max(rows - span, 1)))
            for row in start..<min(start + span, rows) {
                for column in 0..<input.dimension { masked.values[row * input.dimension + column] = 0 }
            }
        }
        return masked
    }
}
