import Foundation
import Layers
import Tensors

/// wav2vec 2.0's pre-training settings (Baevski et al. 2020 §3, §4.2; defaults are the paper's BASE ones except
/// the codebook and projection sizes, which a recipe scales down with the model).
public struct Wav2Vec2Config: Equatable {
    /// Span masking: ⌊maskProbability · T / spanLength + U(0, 1)⌋ distinct span starts per row of T frames (at least
    /// one), each masking spanLength frames; spans may overlap, so 0.65 and 10 mask about half the frames.
    public var maskProbability: Float = 0.65
    public var spanLength = 10
    /// Distractors K per masked frame, drawn uniformly (with replacement) from the other masked frames of its row.
    public var negatives = 100
    /// Distractors per masked frame drawn from every masked frame of the batch but itself (fairseq's
    /// cross_sample_negatives; 0 in the paper): other utterances' frames reward what tells utterances apart.
    public var crossSampleNegatives = 0
    /// κ of the contrastive loss (eq. 3).
    public var contrastiveTemperature: Float = 0.1
    /// G codebooks of V entries; codevectors of `codevectorDimension` (concatenated over groups).
    public var codebookGroups = 2
    public var codebookEntries = 320
    public var codevectorDimension = 256
    /// The space the context and the quantised targets are compared in (fairseq's final_dim).
    public var projectionDimension = 256
    /// α of the diversity loss and the weight of the feature penalty (mean squared feature-encoder output).
    public var diversityWeight: Float = 0.1
    public var featurePenaltyWeight: Float = 10
    /// Gumbel temperature: max(maxTemperature · temperatureDecay^update, minTemperature). The decay is a Double:
    /// 0.999995 rounded to Float is off by 5e-9, which 10⁵ powers turn into a visibly different temperature.
    public var maxTemperature: Float = 2
    public var minTemperature: Float = 0.5
    public var temperatureDecay = 0.999995
    /// w2v-BERT: β, the weight of the masked-prediction loss beside the contrastive one (§3.4: L = β·L_m + γ·L_c,
    /// both 1). Unused by wav2vec 2.0, whose backbone has no prediction head.
    public var maskedPredictionWeight: Float = 1

    public init() {}

    public var problem: String? {
        if !(maskProbability > 0 && maskProbability <= 10) { return "mask_prob must be in (0, 10], got \(maskProbability)" }
        if spanLength < 1 { return "span_length must be ≥ 1, got \(spanLength)" }
        if negatives < 0 || crossSampleNegatives < 0 || negatives + crossSampleNegatives < 1 {
            return "num_negatives (\(negatives)) and cross_sample_negatives (\(crossSampleNegatives)) must be ≥ 0, one of them ≥ 1"
        }
        if !(contrastiveTemperature > 0) { return "contrastive_temperature must be > 0, got \(contrastiveTemperature)" }
        if codebookGroups < 1 || codebookEntries < 2 { return "codebook_groups must be ≥ 1 and codebook_entries ≥ 2" }
        if codevectorDimension < 1 || codevectorDimension % codebookGroups != 0 {
            return "codevector_dim (\(codevectorDimension)) must be a positive multiple of codebook_groups (\(codebookGroups))"
        }
        if projectionDimension < 1 { return "proj_dim must be ≥ 1, got \(projectionDimension)" }
        if diversityWeight < 0 || featurePenaltyWeight < 0 { return "diversity_weight and feature_penalty_weight must be ≥ 0" }
        if !(minTemperature > 0 && maxTemperature >= minTemperature) {
            return "the Gumbel temperatures need 0 < min_temperature ≤ max_temperature"
        }
        if !(temperatureDecay > 0 && temperatureDecay <= 1) { return "temperature_decay must be in (0, 1], got \(temperatureDecay)" }
        if !(maskedPredictionWeight >= 0) { return "mlm_weight must be ≥ 0, got \(maskedPredictionWeight)" }
        return nil
    }
}

/// Any objective whose behaviour follows the update step or that keeps running statistics for the metrics rows.
public protocol StepAwareObjective: AnyObject {
    /// Called by the trainer before the micro-batches of update `step` (0-based).
    func prepare(step: Int)
    /// Values for the next metrics row (averaged since the last call, over training micro-batches only); resets them.
    func drainMetrics() -> [String: Double]
}

/// wav2vec 2.0 pre-training (Baevski et al. 2020): mask spans of the projected latent frames, contextualise them,
/// and for every masked frame pick its quantised latent out of K distractors (the contrastive loss, eq. 3), plus
/// α × the codebook diversity loss (eq. 4) and the feature penalty (§4.2). The batch's "features" are waveforms
/// (B, L, 1) with lengths in samples for Wav2Vec2ForPreTraining, fbank frames for Wav2Vec2FramesForPreTraining.
///
/// The quantiser reads its input at the masked frames only, as fairseq's quantize_targets does: its perplexity
/// (diversity loss, metrics) is over those frames. Rows with fewer than two masked frames have no distractors and
/// add nothing to the contrastive loss.
///
/// w2v-BERT (Chung et al. 2021) is the same objective over a backbone with a code-prediction head: the contrastive
/// loss reads the contrastive module's output, and β × the masked-prediction loss is added: the cross-entropy of the
/// head's logits at each masked frame against the codes the quantiser chose for it (its contrastive target), one
/// softmax per codebook group, averaged over frames and groups. The codes carry no gradient.
public final class Wav2Vec2: FeaturePretrainingObjective, StepAwareObjective, TrainingHealthReporting {
    public let backbone: Wav2Vec2Backbone
    public let config: Wav2Vec2Config
    public var model: Module { backbone }
    public var encoder: AudioEncoder { backbone.audioEncoder }
    /// The waveform form's model; nil for the frame form.
    public var pretrainingModel: Wav2Vec2ForPreTraining? { backbone as? Wav2Vec2ForPreTraining }
    /// The Gumbel temperature of the current update (set by `prepare(step:)`).
    public private(set) var temperature: Float
    private var sums: [String: Double] = [:]
    private var batches = 0
    private var warned: Set<Wav2Vec2Health> = []

    public init(model: Wav2Vec2Backbone, config: Wav2Vec2Config = Wav2Vec2Config()) {
        if let problem = config.problem { preconditionFailure(problem) }
        backbone = model
        self.config = config
        temperature = config.maxTemperature
    }

    public func prepare(step: Int) {
        temperature = GumbelVectorQuantizer.temperature(step: step, max: config.maxTemperature, min: config.minTemperature,
                                                        decay: config.temperatureDecay)
    }

    public func drainMetrics() -> [String: Double] {
        defer { sums = [:]; batches = 0 }
        guard batches > 0 else { return [:] }
        var values = sums.mapValues { $0 / Double(batches) }
        values["gumbel_temperature"] = Double(temperature)
        return values
    }

    public func healthWarnings(step: Int, metrics: [String: Double]) -> [String] {
        Wav2Vec2Health.diagnose(step: step, metrics: metrics, config: config).compactMap { kind, message in
            warned.insert(kind).inserted ? message : nil
        }
    }

    public func loss(_ batch: FeatureBatch, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int) {
        let latents = backbone.latentFrames(batch)
        let masked = spanMask(frameLengths: latents.frameLengths, width: latents.quantizerInput.size(1),
                              probability: config.maskProbability, spanLength: config.spanLength, generator: &generator)
        let training = backbone.isTraining
        return loss(latents, masked: masked,
                    gumbelNoise: { training ? backbone.quantizer.gumbelNoise(rows: $0, generator: &generator) : nil },
                    negatives: { Self.sampleNegatives(rowStarts: $0, total: $1, count: config.negatives,
                                                      crossSample: config.crossSampleNegatives, generator: &generator) })
    }

    /// The loss with the batch's draws given: the masked latent frames (B·T flags), then the Gumbel noise for the M
    /// selected frames (nil: the argmax without noise), then their distractors from where each row's selected
    /// frames start and M. `loss(_:generator:)` draws them in that order; a test fixes them.
    public func loss(_ latents: Wav2Vec2Latents, masked: [Bool], gumbelNoise: (Int) -> Tensor?,
                     negatives drawNegatives: ([Int], Int) -> IntTensor) -> (loss: Tensor, predicted: Int) {
        let (rows, frames) = (latents.quantizerInput.size(0), latents.quantizerInput.size(1))
        let allStates = backbone.contextualize(latents, masked: masked)
        let states = allStates[backbone.contrastiveState]                                             // (B, T, C)
        // Masked frames of rows with at least two of them, row by row.
        var selected: [Int32] = []
        var rowStarts: [Int] = []
        for row in 0..<rows {
            let inRow = (0..<frames).filter { masked[row * frames + $0] }
            guard inRow.count >= 2 else { continue }
            rowStarts.append(selected.count)
            selected += inRow.map { Int32(row * frames + $0) }
        }
        let penalty = latents.penaltyInput.map { mean($0 * $0) } ?? Tensor(scalar: 0)
        guard !selected.isEmpty else { return (penalty * config.featurePenaltyWeight, 0) }
        let gather = IntTensor(selected, shape: [selected.count])
        let dimension = latents.quantizerInput.size(2)
        let context = backbone.projectContext(
            embedding(states.reshaped([rows * frames, states.size(2)]), indices: gather))                    // (M, P)
        let training = backbone.isTraining
        let targetLatents = embedding(latents.quantizerInput.reshaped([rows * frames, dimension]), indices: gather) // (M, D)
        let quantization = backbone.quantizer(targetLatents, temperature: temperature, gumbelNoise: gumbelNoise(selected.count))
        let targets = backbone.projectTargets(quantization.quantized)                                      // (M, P)
        let negatives = drawNegatives(rowStarts, selected.count)
        let contrastive = wav2vec2ContrastiveLoss(context: context, targets: targets, negatives: negatives,
                                                  codes: quantization.codes, groups: config.codebookGroups,
                                                  temperature: config.contrastiveTemperature)
        let diversity = codebookDiversityLoss(quantization.probabilityPerplexity, groups: config.codebookGroups,
                                              entries: config.codebookEntries)
        if training {
            let entries = Double(config.codebookGroups * config.codebookEntries)
            batches += 1
            sums["contrastive_loss", default: 0] += Double(contrastive.item)
            sums["diversity_loss", default: 0] += Double(diversity.item)
            sums["feature_penalty", default: 0] += Double(penalty.item)
            sums["code_perplexity", default: 0] += quantization.codePerplexity
            sums["codebook_usage", default: 0] += quantization.codePerplexity / entries
            sums["prob_perplexity", default: 0] += Double(quantization.probabilityPerplexity.item)
            sums["masked_frames", default: 0] += Double(selected.count)
        }
        var total = contrastive + diversity * config.diversityWeight + penalty * config.featurePenaltyWeight
        if let head = backbone.codePredictionHead {
            let last = allStates[allStates.count - 1]
            let logits = head(embedding(last.reshaped([rows * frames, last.size(2)]), indices: gather))      // (M, G·V)
            let grouped = logits.reshaped([selected.count * config.codebookGroups, config.codebookEntries])
            let prediction = crossEntropy(grouped, targets: IntTensor(quantization.codes, shape: [quantization.codes.count]))
            if training {
                sums["mlm_loss", default: 0] += Double(prediction.item)
                sums["mlm_accuracy", default: 0] += Self.accuracy(grouped, codes: quantization.codes)
            }
            total = total + prediction * config.maskedPredictionWeight
        }
        return (total, selected.count)
    }

    /// The share of rows of logits (R, V) whose first maximum is the code.
    static func accuracy(_ logits: Tensor, codes: [Int32]) -> Double {
        let v = logits.size(1)
        var hits = 0
        for (row, code) in codes.enumerated() {
            let line = logits.data + row * v
            var best = 0
            for entry in 1..<v where line[entry] > line[best] { best = entry }
            if best == Int(code) { hits += 1 }
        }
        return Double(hits) / Double(max(1, codes.count))
    }

    /// For each of `total` masked frames (rows given by where each starts), `count` indices of other masked
    /// frames of the same row, then `crossSample` indices of any other masked frame of the batch, all uniformly
    /// with replacement (fairseq's sample_negatives): (M, count + crossSample). Each frame draws its row's first.
    public static func sampleNegatives(rowStarts: [Int], total: Int, count: Int, crossSample: Int = 0,
                                       generator: inout RandomGenerator) -> IntTensor {
        let width = count + crossSample
        var values = [Int32](repeating: 0, count: total * width)
        func other(than index: Int, below size: Int) -> Int {
            let drawn = generator.nextInt(below: size - 1)
            return drawn >= index ? drawn + 1 : drawn
        }
        for (index, start) in rowStarts.enumerated() {
            let end = index + 1 < rowStarts.count ? rowStarts[index + 1] : total
            for local in 0..<(end - start) {
                let frame = start + local
                for k in 0..<count { values[frame * width + k] = Int32(start + other(than: local, below: end - start)) }
                for k in count..<width { values[frame * width + k] = Int32(other(than: frame, below: total)) }
            }
        }
        return IntTensor(values, shape: [total, width])
    }
}

/// B·T flags, true at masked frames; only frames that hold audio are masked (fairseq's compute_mask_indices with
/// mask_type static and overlap allowed): per row of T valid frames, span = min(spanLength, T), then
/// max(1, ⌊probability · T / span + U(0, 1)⌋) distinct starts (at most T − span + 1) drawn uniformly from
/// 0 … T − span, each masking span frames. Draws per row: the U(0, 1), then the starts.
public func spanMask(frameLengths: [Int], width: Int, probability: Float, spanLength: Int,
                     generator: inout RandomGenerator) -> [Bool] {
    var flags = [Bool](repeating: false, count: frameLengths.count * width)
    for (row, length) in frameLengths.enumerated() where length > 0 {
        let valid = min(length, width)
        let span = min(spanLength, valid)
        let starts = valid - span + 1
        let drawn = Int(probability * Float(valid) / Float(span) + generator.nextFloat())
        for start in distinct(min(starts, max(1, drawn)), below: starts, generator: &generator) {
            for frame in start..<start + span { flags[row * width + frame] = true }
        }
    }
    return flags
}

/// The contrastive loss (eq. 3): for masked frame m, the cosine similarities of its context vector with its
/// quantised target and its K distractors, divided by κ, and the cross-entropy with the target at index 0,
/// averaged over the M frames. A distractor with the same codes as the target is no distractor: its logit is
/// removed (−∞ in fairseq, −1e9 here). context, targets: (M, P); negatives: (M, K) row indices into targets;
/// codes: M·G chosen entries (nil: no such check) → scalar.
///
/// Up to `denseLimit` entries, every context is compared with every target in one matrix product (M, M) and the
/// K + 1 candidates are read from it: K distractors drawn from a few hundred frames repeat, and gathering
/// (M, K+1, P) candidate vectors instead took over 40 % of a step over frames (8,000–9,200 against 14,900–15,300
/// frames a second, recipes/wav2vec2-frames-small.yaml). Larger M gathers.
public func wav2vec2ContrastiveLoss(context: Tensor, targets: Tensor, negatives: IntTensor, codes: [Int32]?, groups: Int,
                                    temperature: Float, denseLimit: Int = 1 << 24) -> Tensor {
    let (m, p, k) = (context.size(0), context.size(1), negatives.shape[1])
    precondition(targets.shape == [m, p] && negatives.shape[0] == m, "contrastive loss: \(context.shape), \(targets.shape), \(negatives.shape)")
    var candidates = [Int32](repeating: 0, count: m * (k + 1))
    let removed = Tensor(zeros: [m, k + 1])
    for row in 0..<m {
        candidates[row * (k + 1)] = Int32(row)
        for j in 0..<k {
            let other = negatives.values[row * k + j]
            candidates[row * (k + 1) + 1 + j] = other
            if let codes, (0..<groups).allSatisfy({ codes[row * groups + $0] == codes[Int(other) * groups + $0] }) {
                removed.data[row * (k + 1) + 1 + j] = -1e9
            }
        }
    }
    let similarities: Tensor                                                                    // (M, K+1)
    if m * m <= denseLimit {
        let all = matmul(unitRows(context), unitRows(targets), transposeB: true)                // (M, M)
        var entries = candidates
        for row in 0..<m { for j in 0...k { entries[row * (k + 1) + j] += Int32(row * m) } }
        similarities = embedding(all.reshaped([m * m, 1]), indices: IntTensor(entries, shape: [m * (k + 1)])).reshaped([m, k + 1])
    } else {
        let c = unitRows(context).reshaped([m, 1, p])
        let t = embedding(unitRows(targets), indices: IntTensor(candidates, shape: [m * (k + 1)])).reshaped([m, k + 1, p])
        similarities = sum(c * t, axes: [2])
    }
    let logits = similarities * (1 / temperature) + removed                                     // (M, K+1)
    return crossEntropy(logits, targets: IntTensor([Int32](repeating: 0, count: m), shape: [m]))
}

/// Each row divided by its Euclidean norm (at least 1e-8, as torch's cosine_similarity). x: (N, P) → (N, P).
func unitRows(_ x: Tensor) -> Tensor {
    let norms = sqrt(sum(x * x, axes: [1], keepDims: true) + 1e-16)
    return x / norms
}
