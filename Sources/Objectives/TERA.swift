import Layers
import Tensors

/// TERA's alterations (Liu, Li & Lee 2021, "TERA: Self-Supervised Learning of Transformer Encoder
/// Representation for Speech", §3.1–3.3, and s3prl's defaults).
public struct TERAConfig: Equatable {
    /// Time alteration: this fraction of each utterance's frames is covered by spans of `spanLength` frames.
    public var timeMaskRate: Float = 0.15
    public var spanLength = 7
    /// Of the spans: zeroed, replaced by a random segment of the same utterance, or kept (still predicted).
    public var zeroFraction: Float = 0.8
    public var randomFraction: Float = 0.1
    /// Frequency alteration: one contiguous band of up to this fraction of the bins is zeroed in every frame.
    public var maxFrequencyMaskFraction: Float = 0.2
    /// Magnitude alteration: with this probability an utterance gets Gaussian noise of std `noiseStd` everywhere.
    public var noiseProbability: Float = 0.15
    public var noiseStd: Float = 0.2

    public init() {}

    /// A message naming the first invalid field, or nil.
    public var problem: String? {
        if !(timeMaskRate >= 0 && timeMaskRate <= 1) { return "time_mask_rate must be in [0, 1], got \(timeMaskRate)" }
        if spanLength < 1 { return "span_length must be ≥ 1, got \(spanLength)" }
        if !(zeroFraction >= 0 && randomFraction >= 0 && zeroFraction + randomFraction <= 1) {
            return "zero_fraction \(zeroFraction) and random_fraction \(randomFraction) must be ≥ 0 and sum to at most 1"
        }
        if !(maxFrequencyMaskFraction >= 0 && maxFrequencyMaskFraction <= 1) {
            return "max_frequency_mask_fraction must be in [0, 1], got \(maxFrequencyMaskFraction)"
        }
        if !(noiseProbability >= 0 && noiseProbability <= 1) { return "noise_probability must be in [0, 1], got \(noiseProbability)" }
        if !(noiseStd >= 0) { return "noise_std must be ≥ 0, got \(noiseStd)" }
        if timeMaskRate == 0 && maxFrequencyMaskFraction == 0 && noiseProbability == 0 { return "nothing would ever be altered" }
        return nil
    }
}

/// A frame encoder with TERA's prediction head (dense → GELU → LayerNorm → dense back to k·F bins per position).
/// Keys: encoder.…, head.dense, head.LayerNorm, head.decoder.
public final class TERAModel: Module {
    @Key public var encoder: AudioFrameEncoder
    @Key public var dense: Linear
    @Key public var norm: LayerNorm
    @Key public var decoder: Linear

    public init(encoder: AudioFrameEncoder, generator: inout RandomGenerator) {
        let c = encoder.config.hiddenSize
        _encoder = Key(wrappedValue: encoder, "encoder")
        _dense = Key(wrappedValue: Linear(c, c, generator: &generator), "head.dense")
        _norm = Key(wrappedValue: LayerNorm(c, eps: encoder.config.layerNormEps), "head.LayerNorm")
        _decoder = Key(wrappedValue: Linear(c, encoder.config.frameStack * encoder.config.featureDimension,
                                            generator: &generator), "head.decoder")
        super.init()
    }

    /// features: (B, T, F) → reconstructed frames (B, T, F).
    public func callAsFunction(_ features: Tensor, lengths: [Int]) -> Tensor {
        let (batch, frames, bins) = (features.size(0), features.size(1), features.size(2))
        let states = encoder(features, lengths: lengths).lastHiddenState                        // (B, N, C)
        let predicted = decoder(norm(gelu(dense(states), approximate: .none)))                 // (B, N, k·F)
        let unstacked = predicted.reshaped([batch, states.size(1) * encoder.config.frameStack, bins])
        return unstacked.size(1) == frames ? unstacked : slice(unstacked, axis: 1, range: 0..<frames)
    }
}

/// TERA: alter the input along time, frequency and magnitude, reconstruct the original frames, L1 on the altered
/// positions (time-altered frames, the masked band, and every position of a noised utterance).
public final class TERA: FeaturePretrainingObjective {
    public let teraModel: TERAModel
    public let config: TERAConfig
    public var model: Module { teraModel }
    public var encoder: AudioEncoder { teraModel.encoder }

    public init(model: TERAModel, config: TERAConfig = TERAConfig()) {
        if let problem = config.problem { preconditionFailure(problem) }
        teraModel = model
        self.config = config
    }

    public func loss(_ batch: FeatureBatch, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int) {
        let (altered, weights) = alter(batch, generator: &generator)
        let predicted = teraModel(altered, lengths: batch.lengths)
        let count = weights.scalars.reduce(0, +)
        guard count > 0 else { return (mean(predicted) * 0, 0) }
        // Σ |p − x|·w / Σ w, with w ∈ {0, 1}: the mean over all positions rescaled to the altered ones.
        let loss = l1Loss(predicted * weights, batch.features * weights) * (Float(weights.count) / count)
        return (loss, Int(count))
    }

    /// features (B, T, F) → the altered input (B, T, F) and the loss weights (B, T, F): 1 at altered positions.
    /// Draws per row: the spans (start, then one uniform for zero/random/keep, and the source of a random
    /// segment), the band (width, start), then the noise decision and its values.
    public func alter(_ batch: FeatureBatch, generator: inout RandomGenerator) -> (features: Tensor, weights: Tensor) {
        let x = batch.features
        let (rows, frames, bins) = (x.size(0), x.size(1), x.size(2))
        let altered = x.copy(), weights = Tensor(zeros: x.shape)
        let source = x.data, out = altered.data, w = weights.data
        for row in 0..<rows {
            let length = min(batch.lengths[row], frames)
            guard length > 0 else { continue }
            let base = row * frames * bins
            // Time: ⌈rate·L / span⌉ spans (at least one), starts drawn uniformly, spans may overlap.
            let span = min(config.spanLength, length)
            let spans = config.timeMaskRate > 0
                ? max(1, Int((config.timeMaskRate * Float(length) / Float(span)).rounded())) : 0
            for _ in 0..<spans {
                let start = generator.nextInt(below: length - span + 1)
                let u = generator.nextFloat()
                let from = generator.nextInt(below: length - span + 1)
                for t in start..<start + span {
                    let target = base + t * bins
                    if u < config.zeroFraction {
                        for f in 0..<bins { out[target + f] = 0 }
                    } else if u < config.zeroFraction + config.randomFraction {
                        let copied = base + (from + t - start) * bins
                        for f in 0..<bins { out[target + f] = source[copied + f] }
                    }
                    for f in 0..<bins { w[target + f] = 1 }
                }
            }
            // Frequency: a band of width U{0 … ⌊fraction·F⌋} at a uniform start.
            let widest = Int(config.maxFrequencyMaskFraction * Float(bins))
            let width = widest > 0 ? generator.nextInt(below: widest + 1) : 0
            let low = generator.nextInt(below: bins - width + 1)
            for t in 0..<length {
                for f in low..<low + width {
                    out[base + t * bins + f] = 0
                    w[base + t * bins + f] = 1
                }
            }
            // Magnitude: Gaussian noise over the whole utterance, all of it then predicted.
            if generator.nextFloat() < config.noiseProbability {
                for i in base..<base + length * bins {
                    out[i] += config.noiseStd * generator.nextNormal()
                    w[i] = 1
                }
            }
        }
        return (altered, weights)
    }
}
