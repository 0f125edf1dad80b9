import Foundation
import Layers
import Tensors

/// A padded batch of utterances for text-to-speech: phoneme ids (B, P), 0 after each utterance's `phonemeLengths`;
/// log-mel frames (B, T, M), zero after `frameLengths`, T the longest; one (B, T) tensor per variance of the model's
/// config (`FastSpeechConfig.variances`), in that order.
public struct SpeechSynthesisBatch {
    public var phonemes: IntTensor
    public var phonemeLengths: [Int]
    public var mel: Tensor
    public var frameLengths: [Int]
    public var frameVariances: [Tensor]

    public init(phonemes: IntTensor, phonemeLengths: [Int], mel: Tensor, frameLengths: [Int], frameVariances: [Tensor]) {
        precondition(phonemes.shape.count == 2 && mel.rank == 3 && mel.size(0) == phonemes.shape[0],
                     "a speech synthesis batch needs phonemes (B, P) and mel (B, T, M), got \(phonemes.shape) and \(mel.shape)")
        precondition(frameLengths.max() == mel.size(1), "the mel's width \(mel.size(1)) is not the longest utterance")
        precondition(zip(phonemeLengths, frameLengths).allSatisfy { $0 <= $1 },
                     "an utterance has more phonemes than frames: no monotonic alignment exists")
        self.phonemes = phonemes
        self.phonemeLengths = phonemeLengths
        self.mel = mel
        self.frameLengths = frameLengths
        self.frameVariances = frameVariances
    }
}

/// The weights of FastSpeech's losses; `binarization` is 0 until the aligner has settled (Badlani et al. 2022 turn
/// it on after a warm-up).
public struct FastSpeechLossWeights: Equatable, Sendable {
    public var mel: Float = 1
    public var duration: Float = 1
    public var variance: Float = 1
    public var alignment: Float = 1
    public var binarization: Float = 0
    public init(mel: Float = 1, duration: Float = 1, variance: Float = 1, alignment: Float = 1, binarization: Float = 0) {
        (self.mel, self.duration, self.variance, self.alignment, self.binarization) = (mel, duration, variance, alignment, binarization)
    }
}

/// FastSpeech 2 trained with its own aligner (Badlani et al. 2022, "One TTS Alignment to Rule Them All"):
///   - the aligner's scores, log-softmaxed over the phonemes and plus the log beta-binomial prior, give each frame a
///     distribution over phonemes; the forward-sum loss is CTC over them with the phonemes 1…P in order as the
///     labels and a blank of constant score −1, so that every monotonic path counts;
///   - monotonic alignment search over the same log-probabilities gives each phoneme its frames (the durations);
///   - the binarization loss −mean_t log softmax(·)[t, path(t)] pulls the soft alignment toward that path;
///   - FastSpeech 2's losses (Ren et al. 2021 §2.2–2.3): L1 of the mel frames, MSE of log(d + 1) and of each
///     variance's phoneme-level mean over the path's frames, masked to real positions.
///
/// In a training run the binarization term's weight is `binarizationWeight` from update `binarizationStart` on (0
/// before); the terms are averaged for the metrics rows (`objective/mel_loss`, …).
public final class FastSpeechTraining: TrainableObjective, StepAwareObjective {
    public let fastSpeech: FastSpeechModel
    public var model: Module { fastSpeech }
    public var weights: FastSpeechLossWeights
    public var priorScaling: Double
    public var binarizationWeight: Float
    public var binarizationStart: Int
    private var sums: [String: Double] = [:]
    private var counted = 0

    public init(model: FastSpeechModel, weights: FastSpeechLossWeights = .init(), priorScaling: Double = 1,
                binarizationWeight: Float = 0, binarizationStart: Int = 0) {
        fastSpeech = model
        self.weights = weights
        self.priorScaling = priorScaling
        self.binarizationWeight = binarizationWeight
        self.binarizationStart = binarizationStart
    }

    public func prepare(step: Int) {
        if binarizationWeight > 0 { weights.binarization = step >= binarizationStart ? binarizationWeight : 0 }
    }

    /// A training micro-batch's loss; its terms go into the running means of `drainMetrics`.
    public func trainingLoss(_ batch: SpeechSynthesisBatch) -> Tensor {
        let terms = losses(batch)
        var values = ["mel_loss": terms.mel.item, "duration_loss": terms.duration.item, "alignment_loss": terms.alignment.item]
        for (name, loss) in zip(fastSpeech.config.variances, terms.variances) { values[name + "_loss"] = loss.item }
        if let binarization = terms.binarization { values["binarization_loss"] = binarization.item }
        for (name, value) in values { sums[name, default: 0] += Double(value) }
        counted += 1
        return terms.total
    }

    public func drainMetrics() -> [String: Double] {
        defer { sums = [:]; counted = 0 }
        return counted == 0 ? [:] : sums.mapValues { $0 / Double(counted) }
    }

    public struct Losses {
        public var total: Tensor
        public var mel: Tensor
        public var duration: Tensor
        public var variances: [Tensor]
        public var alignment: Tensor
        public var binarization: Tensor?
        /// The monotonic path's frames per phoneme, per utterance (P_b values each).
        public var durations: [[Int]]
    }

    public func losses(_ batch: SpeechSynthesisBatch) -> Losses {
        let model = fastSpeech
        precondition(batch.frameVariances.count == model.config.variances.count,
                     "the batch has \(batch.frameVariances.count) variances, the model \(model.config.variances)")
        let (rows, width, frames) = (batch.phonemes.shape[0], batch.phonemes.shape[1], batch.mel.size(1))
        let phonemes = SequencePadding(lengths: batch.phonemeLengths, width: width)
        let framePadding = SequencePadding(lengths: batch.frameLengths, width: frames)
        let embedded = model.embed(batch.phonemes)
        let alignmentLogProbabilities = alignment(embedded: embedded, phonemes: phonemes, mel: batch.mel, frames: framePadding)

        // Forward-sum: CTC over [blank | phonemes] with the phonemes in order as the labels.
        let blank = Tensor(repeating: -1, shape: [rows, frames, 1])
        let alignmentLoss = ctcLoss(logits: concat([blank, alignmentLogProbabilities], axis: 2),
                                    logitLengths: batch.frameLengths,
                                    targets: batch.phonemeLengths.map { (1...$0).map(Int32.init) })

        let durations = (0..<rows).map { b in
            MonotonicAlignment.durations(alignmentLogProbabilities.data + b * frames * width,
                                         frames: batch.frameLengths[b], phonemes: batch.phonemeLengths[b], rowStride: width)
        }
        var binarization: Tensor?
        if weights.binarization > 0 {
            binarization = binarizationLoss(alignmentLogProbabilities, durations: durations, width: width)
        }

        let padded = durations.map { $0 + [Int](repeating: 0, count: width - $0.count) }
        let varianceTargets = batch.frameVariances.map { phonemeMeans($0, durations: padded) }
        let states = model.encode(embedded: embedded, phonemes: phonemes, varianceTargets: varianceTargets)
        let melPrediction = model.decode(hidden: states.hidden, durations: padded)

        // Means over real positions: the padded entries of prediction and target are both zero.
        let realFrames = Float(framePadding.count), realPhonemes = Float(phonemes.count)
        let melLoss = l1Loss(melPrediction, batch.mel * framePadding.mask) * (Float(rows * frames) / realFrames)
        let logDurations = Tensor(padded.flatMap { $0.map { Float(Foundation.log(Double($0) + 1)) } }, shape: [rows, width])
        let durationLoss = mseLoss(states.logDurations, logDurations * phonemes.mask.reshaped([rows, width]))
            * (Float(rows * width) / realPhonemes)
        let varianceLosses = zip(states.variances, varianceTargets).map { predicted, target in
            mseLoss(predicted, target) * (Float(rows * width) / realPhonemes)
        }
        var total = melLoss * weights.mel + durationLoss * weights.duration + alignmentLoss * weights.alignment
        for loss in varianceLosses { total = total + loss * weights.variance }
        if let binarization { total = total + binarization * weights.binarization }
        return Losses(total: total, mel: melLoss, duration: durationLoss, variances: varianceLosses,
                      alignment: alignmentLoss, binarization: binarization, durations: durations)
    }

    /// Each frame's log-distribution over the phonemes (B, T, P): log_softmax of the aligner's scores over the real
    /// phonemes, plus the log prior. Padded phonemes sit at −10⁴ (no weight in any softmax).
    public func alignment(embedded: Tensor, phonemes: SequencePadding, mel: Tensor, frames: SequencePadding) -> Tensor {
        let scores = fastSpeech.aligner(embedded: embedded, phonemes: phonemes, mel: mel, frames: frames)     // (B, T, P)
        let (rows, length, width) = (scores.size(0), scores.size(1), scores.size(2))
        let keyBias = Tensor(phonemes.keyPadding.values.map { $0 == 1 ? Float(-1e4) : 0 }, shape: [rows, 1, width])
        var prior = [Float](repeating: 0, count: rows * length * width)
        for b in 0..<rows {
            let (t, p) = (frames.lengths[b], phonemes.lengths[b])
            let table = MonotonicAlignment.logBetaBinomialPrior(frames: t, phonemes: p, scaling: priorScaling)
            for i in 0..<t { for j in 0..<p { prior[(b * length + i) * width + j] = table[i * p + j] } }
        }
        return logSoftmax(scores + keyBias, axis: 2) + Tensor(prior, shape: [rows, length, width])
    }

    /// −mean over real frames of log softmax(alignment)[t, path(t)].
    func binarizationLoss(_ alignment: Tensor, durations: [[Int]], width: Int) -> Tensor {
        let (rows, length) = (alignment.size(0), alignment.size(1))
        let normalised = logSoftmax(alignment, axis: 2).reshaped([rows * length * width, 1])
        var picked: [Int32] = []
        for b in 0..<rows {
            var t = 0
            for (p, count) in durations[b].enumerated() {
                for _ in 0..<count { picked.append(Int32((b * length + t) * width + p)); t += 1 }
            }
        }
        return embedding(normalised, indices: IntTensor(picked, shape: [picked.count])).mean() * -1
    }

    /// Frame values (B, T) → each phoneme's mean over its frames (B, P); 0 for a phoneme with none.
    func phonemeMeans(_ values: Tensor, durations: [[Int]]) -> Tensor {
        let (rows, frames) = (values.size(0), values.size(1))
        let width = durations.first?.count ?? 0
        var means = [Float](repeating: 0, count: rows * width)
        for b in 0..<rows {
            var t = 0
            for (p, count) in durations[b].enumerated() where count > 0 {
                var sum = 0.0
                for i in t..<(t + count) { sum += Double(values.data[b * frames + i]) }
                means[b * width + p] = Float(sum / Double(count))
                t += count
            }
        }
        return Tensor(means, shape: [rows, width])
    }
}

extension FastSpeechModel {
    /// Synthesis of one utterance: phoneme ids → log-mel frames (T, M) and each phoneme's frames. Durations are
    /// the predicted exp(·) − 1 times `pace`, rounded, at least 0 (at least one frame in all).
    public func synthesize(_ phonemeIds: [Int32], pace: Float = 1) -> (mel: Tensor, durations: [Int]) {
        precondition(!phonemeIds.isEmpty, "nothing to say: no phonemes")
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        return noGrad {
            let ids = IntTensor(phonemeIds, shape: [1, phonemeIds.count])
            let padding = SequencePadding(lengths: [phonemeIds.count], width: phonemeIds.count)
            let states = encode(embedded: embed(ids), phonemes: padding)
            var durations = states.logDurations.scalars.map { Int(((Foundation.exp($0) - 1) * pace).rounded()) }
                .map { max(0, $0) }
            if durations.reduce(0, +) == 0 { durations[0] = 1 }
            let mel = decode(hidden: states.hidden, durations: [durations])
            return (mel.reshaped([mel.size(1), mel.size(2)]), durations)
        }
    }
}
