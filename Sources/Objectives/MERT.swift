import Foundation
import Layers
import Tensors

/// MERT's settings (Li et al. 2023 §3): HuBERT-style span masking, the weights of the acoustic teacher's
/// classification and the musical teacher's reconstruction, and the in-batch noise mixture.
public struct MERTConfig: Equatable {
    /// Span masking over the frame encoder's positions (HuBERT's, as MaskedPredictionConfig).
    public var maskProbability: Float = 0.8
    public var spanLength = 10
    /// α: weight of the cross-entropy against the RVQ codes (one softmax per codebook, averaged over codebooks).
    public var acousticWeight: Float = 1
    /// Weight of the mean squared error of the reconstructed constant-Q frames (0: no musical teacher).
    public var cqtWeight: Float = 1
    /// In-batch noise mixture (§3.4): each crop, with this probability, gets a segment of another crop of the batch
    /// mixed in (in the power domain) before masking; the targets stay those of the clean crop.
    public var mixProbability: Float = 0.5
    /// The mixed-in segment's power relative to its source: 10^(−a/10) with a uniform in [0, mixAttenuation] dB.
    public var mixAttenuation: Float = 10

    public init() {}

    public var problem: String? {
        if !(maskProbability > 0 && maskProbability <= 10) { return "mask_prob must be in (0, 10], got \(maskProbability)" }
        if spanLength < 1 { return "span_length must be ≥ 1, got \(spanLength)" }
        if !(acousticWeight >= 0 && cqtWeight >= 0) || acousticWeight + cqtWeight == 0 {
            return "acoustic_weight and cqt_weight must be ≥ 0 and not both 0"
        }
        if !(0...1).contains(mixProbability) { return "mix_probability must be in [0, 1], got \(mixProbability)" }
        if !(mixAttenuation >= 0) { return "mix_attenuation must be ≥ 0 dB, got \(mixAttenuation)" }
        return nil
    }
}

/// One crop's in-batch mixture: `length` frames of crop `source` from `sourceStart` mixed into crop `row` at
/// `start`, at power `gain` (linear).
public struct InBatchMixture: Equatable {
    public var row, source, start, sourceStart, length: Int
    public var gain: Float

    public init(row: Int, source: Int, start: Int, sourceStart: Int, length: Int, gain: Float) {
        (self.row, self.source, self.start, self.sourceStart, self.length, self.gain) = (row, source, start, sourceStart, length, gain)
    }
}

/// MERT's student: a frame encoder (with a mask embedding), a head to each RVQ codebook's entries and a head to the
/// position's stacked constant-Q frames; the frozen acoustic teacher (the RVQ) and the feature corpus' per-bin
/// statistics (the mixture works on log-mel power, so it undoes the normalisation and redoes it).
/// Keys: encoder.…, acoustic_head (C → N·K), cqt_head (C → k·Fc; absent without a musical teacher),
/// rvq.codebooks (N, K, k·F), normalization.mean, normalization.std (F).
public final class MERTModel: Module {
    @Key public var encoder: AudioFrameEncoder
    @Key public var acousticHead: Linear
    @Key public var cqtHead: Linear?
    @Key public var rvq: ResidualVectorQuantizer
    @Key public var mean: Tensor
    @Key public var std: Tensor

    /// `cqtBins`: constant-Q bins per frame of the targets (0: none). `mean`, `std`: (F) statistics of the features.
    public init(encoder: AudioFrameEncoder, rvq: ResidualVectorQuantizer, cqtBins: Int, mean: Tensor, std: Tensor,
                generator: inout RandomGenerator) {
        let config = encoder.config
        precondition(encoder.maskEmbedding != nil, "MERT masks positions: make the encoder with maskEmbedding: true")
        precondition(rvq.dimension == config.frameStack * config.featureDimension,
                     "the RVQ quantises \(rvq.dimension) values, the encoder's positions hold \(config.frameStack * config.featureDimension)")
        precondition(mean.shape == [config.featureDimension] && std.shape == [config.featureDimension], "statistics of \(config.featureDimension) bins")
        _encoder = Key(wrappedValue: encoder, "encoder")
        _acousticHead = Key(wrappedValue: Linear(config.hiddenSize, rvq.codebookCount * rvq.entries, generator: &generator),
                            "acoustic_head")
        _cqtHead = Key(wrappedValue: cqtBins > 0 ? Linear(config.hiddenSize, config.frameStack * cqtBins, generator: &generator) : nil,
                       "cqt_head")
        _rvq = Key(wrappedValue: rvq, "rvq")
        _mean = Key(wrappedValue: mean.detached(), "normalization.mean")
        _std = Key(wrappedValue: std.detached(), "normalization.std")
        super.init()
    }

    public var cqtBins: Int { (cqtHead?.weight.size(0) ?? 0) / encoder.config.frameStack }
}

/// MERT (Li et al. 2023): masked prediction with two teachers. A batch's features are the model's F bins per frame
/// followed by the constant-Q target's Fc bins (`data.targets`). The RVQ codes every position of the clean input's
/// stacked frames (the acoustic teacher); crops are mixed with segments of other crops (in-batch noise mixture);
/// spans are masked; at the masked positions the student predicts each codebook's code (cross-entropy, averaged over
/// codebooks) and reconstructs the clean stacked constant-Q frames (mean squared error over their values).
/// Loss = acoustic_weight · cross-entropy + cqt_weight · MSE.
public final class MERT: FeaturePretrainingObjective, StepAwareObjective {
    public let mert: MERTModel
    public let config: MERTConfig
    public var model: Module { mert }
    public var encoder: AudioEncoder { mert.encoder }
    private var sums: [String: Double] = [:]
    private var batches = 0

    public init(model: MERTModel, config: MERTConfig = MERTConfig()) {
        if let problem = config.problem { preconditionFailure(problem) }
        mert = model
        self.config = config
    }

    public var readsTargets: Bool { true }

    public func prepare(step: Int) {}

    public func drainMetrics() -> [String: Double] {
        defer { sums = [:]; batches = 0 }
        return batches == 0 ? [:] : sums.mapValues { $0 / Double(batches) }
    }

    public func loss(_ batch: FeatureBatch, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int) {
        let mixtures = mert.isTraining ? drawMixtures(lengths: batch.lengths, generator: &generator) : []
        let frames = mert.encoder.stackedLengths(batch.lengths)
        let width = (batch.features.size(1) + mert.encoder.config.frameStack - 1) / mert.encoder.config.frameStack
        let masked = spanMask(frameLengths: frames, width: width, probability: config.maskProbability,
                              spanLength: config.spanLength, generator: &generator)
        return loss(batch, mixtures: mixtures, masked: masked)
    }

    /// The loss with the draws given (a test fixes them): the mixtures, then the B·N masked positions.
    public func loss(_ batch: FeatureBatch, mixtures: [InBatchMixture], masked: [Bool]) -> (loss: Tensor, predicted: Int) {
        let encoder = mert.encoder, f = encoder.config.featureDimension, k = encoder.config.frameStack
        let (rows, length, width) = (batch.features.size(0), batch.features.size(1), batch.features.size(2))
        let cqtBins = width - f
        precondition(cqtBins == mert.cqtBins, "MERT reads \(f) feature bins and \(mert.cqtBins) constant-Q bins a frame, got \(width)")
        let clean = cqtBins == 0 ? batch.features : noGrad { slice(batch.features, axis: 2, range: 0..<f) }
        let positions = (length + k - 1) / k
        precondition(masked.count == rows * positions, "\(masked.count) mask flags for \(rows)×\(positions) positions")
        let codes = noGrad { mert.rvq.encode(encoder.stackFrames(clean).reshaped([rows * positions, k * f])).codes }
        let input = mixtures.isEmpty ? clean : mix(clean, mixtures)
        let states = encoder.encode(input, lengths: batch.lengths, masked: masked).lastHiddenState        // (B, N, C)
        let indices = masked.indices.filter { masked[$0] }
        guard !indices.isEmpty else { return (mean(states) * 0, 0) }
        let gather = IntTensor(indices.map { Int32($0) }, shape: [indices.count])
        let hidden = embedding(states.reshaped([rows * positions, states.size(2)]), indices: gather)    // (M, C)
        let (n, entries) = (mert.rvq.codebookCount, mert.rvq.entries)
        let logits = mert.acousticHead(hidden).reshaped([indices.count * n, entries])                   // (M·N, K)
        let targets = IntTensor(indices.flatMap { position in (0..<n).map { codes[position * n + $0] } }, shape: [indices.count * n])
        let acoustic = crossEntropy(logits, targets: targets)
        var total = acoustic * config.acousticWeight
        var reconstruction: Tensor?
        if let cqtHead = mert.cqtHead {
            let cqt = noGrad { encoder.stackFrames(slice(batch.features, axis: 2, range: f..<width)) }            // (B, N, k·Fc)
            let target = embedding(cqt.reshaped([rows * positions, k * cqtBins]), indices: gather)
            let error = cqtHead(hidden) - target
            reconstruction = mean(error * error)
            total = total + reconstruction! * config.cqtWeight
        }
        if mert.isTraining {
            batches += 1
            sums["acoustic_loss", default: 0] += Double(acoustic.item)
            if let reconstruction { sums["cqt_loss", default: 0] += Double(reconstruction.item) }
            sums["mixed_crops", default: 0] += Double(mixtures.count)
        }
        return (total, indices.count)
    }

    /// For each crop with at least one frame, with probability mix_probability: another crop with audio, a segment
    /// length uniform in [⌈L/8⌉, ⌈L/2⌉] (L the shorter of the two lengths), where it starts in each crop, and the gain.
    /// Draws per crop: the coin; when mixing, the source, the length, both starts and the attenuation.
    public func drawMixtures(lengths: [Int], generator: inout RandomGenerator) -> [InBatchMixture] {
        let candidates = lengths.indices.filter { lengths[$0] > 0 }
        guard candidates.count >= 2, config.mixProbability > 0 else { return [] }
        var mixtures: [InBatchMixture] = []
        for row in candidates {
            guard generator.nextFloat() < config.mixProbability else { continue }
            let others = candidates.filter { $0 != row }
            let source = others[generator.nextInt(below: others.count)]
            let shorter = min(lengths[row], lengths[source])
            let (low, high) = ((shorter + 7) / 8, (shorter + 1) / 2)
            let length = low + generator.nextInt(below: high - low + 1)
            let start = generator.nextInt(below: lengths[row] - length + 1)
            let sourceStart = generator.nextInt(below: lengths[source] - length + 1)
            let gain = Float(pow(10, -Double(config.mixAttenuation * generator.nextFloat()) / 10))
            mixtures.append(InBatchMixture(row: row, source: source, start: start, sourceStart: sourceStart, length: length, gain: gain))
        }
        return mixtures
    }

    /// features (B, T, F) normalised → the same with each mixture's segment added in the power domain:
    /// e = x·σ + μ (log-mel), e' = log(exp(e) + g·exp(e_source)), x' = (e' − μ) / σ. No gradient (an input).
    public func mix(_ features: Tensor, _ mixtures: [InBatchMixture]) -> Tensor {
        let (length, bins) = (features.size(1), features.size(2))
        let mixed = features.copy()
        let (mu, sigma) = (mert.mean.data, mert.std.data)
        for mixture in mixtures {
            for t in 0..<mixture.length {
                let target = mixed.data + (mixture.row * length + mixture.start + t) * bins
                let source = features.data + (mixture.source * length + mixture.sourceStart + t) * bins
                for b in 0..<bins {
                    let own = Double(target[b] * sigma[b] + mu[b]), other = Double(source[b] * sigma[b] + mu[b])
                    let high = max(own, other + log(Double(mixture.gain)))
                    let sum = high + log(exp(own - high) + Double(mixture.gain) * exp(other - high))
                    target[b] = Float((sum - Double(mu[b])) / Double(sigma[b]))
                }
            }
        }
        return mixed
    }
}
