import Layers
import Tensors

/// TERA's alterations (Liu, Li & Lee 2021, "TERA: Self-Supervised Learning of Transformer Encoder
/// Representation for Speech", §3.1–3.3, and s3prl's defaults).
public struct TERAConfig: Equatable {
    /// Time alteration: round(rate · L / spanLength) distinct span starts per utterance of L frames (about this
    /// fraction of its frames, less where spans overlap), each altering `spanLength` frames.
    public var timeMaskRate: Float = 0.15
    public var spanLength = 7
    /// Of the utterances (one decision for all of an utterance's spans, as TERA and s3prl decide it): spans zeroed,
    /// replaced by random segments of the same utterance, or kept (still predicted).
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
        loss(batch, alterations: drawAlterations(batch, generator: &generator))
    }

    /// The loss for given alterations (one per row): reconstruct the original frames from the altered ones.
    public func loss(_ batch: FeatureBatch, alterations: [TERAAlteration]) -> (loss: Tensor, predicted: Int) {
        let (altered, weights) = apply(alterations, to: batch)
        let predicted = teraModel(altered, lengths: batch.lengths)
        let count = weights.scalars.reduce(0, +)
        guard count > 0 else { return (mean(predicted) * 0, 0) }
        // Σ |p − x|·w / Σ w, with w ∈ {0, 1}: the mean over all positions rescaled to the altered ones.
        let loss = l1Loss(predicted * weights, batch.features * weights) * (Float(weights.count) / count)
        return (loss, Int(count))
    }

    /// features (B, T, F) → the altered input (B, T, F) and the loss weights (B, T, F): 1 at altered positions.
    public func alter(_ batch: FeatureBatch, generator: inout RandomGenerator) -> (features: Tensor, weights: Tensor) {
        apply(drawAlterations(batch, generator: &generator), to: batch)
    }

    /// Draws each row's alterations. Per row: the distinct span starts, one uniform for zero/random/keep, the
    /// distinct sources of the random segments (only when replaced), the band (width, start), then the noise
    /// decision and its values. A row without frames draws nothing.
    public func drawAlterations(_ batch: FeatureBatch, generator: inout RandomGenerator) -> [TERAAlteration] {
        let (frames, bins) = (batch.features.size(1), batch.features.size(2))
        return batch.lengths.map { rowLength in
            let length = min(rowLength, frames)
            var alteration = TERAAlteration()
            guard length > 0 else { return alteration }
            // Time (§3.1; s3prl's process_train_MAM_data): round(rate·L / span) starts (at least one) drawn without
            // replacement, so no two spans start together but spans may overlap; one decision for all of them.
            let span = min(config.spanLength, length)
            let starts = length - span + 1
            let spans = config.timeMaskRate > 0
                ? min(starts, max(1, Int((config.timeMaskRate * Float(length) / Float(span)).rounded()))) : 0
            if spans > 0 {
                let chosen = distinct(spans, below: starts, generator: &generator)
                let u = generator.nextFloat()
                let replaced = u >= config.zeroFraction && u < config.zeroFraction + config.randomFraction
                let sources = replaced ? Array(distinct(spans, below: starts, generator: &generator)) : []
                for (i, start) in chosen.enumerated() {
                    let kind: TERAAlteration.SpanKind = u < config.zeroFraction ? .zero : replaced ? .segment(from: sources[i]) : .kept
                    alteration.spans.append(.init(start: start, length: span, kind: kind))
                }
            }
            // Frequency: a band of width U{0 … ⌊fraction·F⌋} at a uniform start.
            let widest = Int(config.maxFrequencyMaskFraction * Float(bins))
            let width = widest > 0 ? generator.nextInt(below: widest + 1) : 0
            let low = generator.nextInt(below: bins - width + 1)
            alteration.band = low..<low + width
            // Magnitude: Gaussian noise over the whole utterance, all of it then predicted.
            if generator.nextFloat() < config.noiseProbability {
                alteration.noise = (0..<length * bins).map { _ in config.noiseStd * generator.nextNormal() }
            }
            return alteration
        }
    }

    /// Applies one alteration per row in order — the spans (a later span overwrites an earlier one where they
    /// overlap; a segment is copied from the unaltered row), the band over the row's frames, then the noise added
    /// to the result → the altered input (B, T, F) and the loss weights (B, T, F): 1 at altered positions.
    public func apply(_ alterations: [TERAAlteration], to batch: FeatureBatch) -> (features: Tensor, weights: Tensor) {
        let x = batch.features
        let (rows, frames, bins) = (x.size(0), x.size(1), x.size(2))
        precondition(alterations.count == rows, "\(alterations.count) alterations for \(rows) rows")
        let altered = x.copy(), weights = Tensor(zeros: x.shape)
        let source = x.data, out = altered.data, w = weights.data
        for (row, alteration) in alterations.enumerated() {
            let length = min(batch.lengths[row], frames)
            let base = row * frames * bins
            for span in alteration.spans {
                precondition(span.start >= 0 && span.start + span.length <= length, "a span outside the row's \(length) frames")
                for t in span.start..<span.start + span.length {
                    let target = base + t * bins
                    switch span.kind {
                    case .zero:
                        for f in 0..<bins { out[target + f] = 0 }
                    case .segment(let from):
                        precondition(from >= 0 && from + span.length <= length, "a segment outside the row's \(length) frames")
                        let copied = base + (from + t - span.start) * bins
                        for f in 0..<bins { out[target + f] = source[copied + f] }
                    case .kept:
                        break
                    }
                    for f in 0..<bins { w[target + f] = 1 }
                }
            }
            precondition(alteration.band.lowerBound >= 0 && alteration.band.upperBound <= bins, "a band outside the \(bins) bins")
            for t in 0..<length {
                for f in alteration.band {
                    out[base + t * bins + f] = 0
                    w[base + t * bins + f] = 1
                }
            }
            if let noise = alteration.noise {
                precondition(noise.count == length * bins, "\(noise.count) noise values for \(length)×\(bins)")
                for (offset, i) in (base..<base + length * bins).enumerated() {
                    out[i] += noise[offset]
                    w[i] = 1
                }
            }
        }
        return (altered, weights)
    }
}
