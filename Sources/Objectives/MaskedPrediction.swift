import Layers
import Tensors

/// Where masked label prediction masks: HuBERT's spans over a frame encoder's positions (Hsu et al. 2021 §IV-B,
/// fairseq's compute_mask_indices) or BEATs' uniform patch masking (Chen et al. 2022 §2.3).
public struct MaskedPredictionConfig: Equatable {
    /// Frame encoders: ⌊maskProbability · L / spanLength + U(0, 1)⌋ distinct span starts per row of L positions
    /// (at least one), each masking spanLength positions; spans overlap, so 0.8 and 10 mask about half.
    public var maskProbability: Float = 0.8
    public var spanLength = 10
    /// Patch encoders: this fraction of each clip's patches, drawn uniformly without replacement.
    public var patchMaskRatio: Float = 0.75

    public init() {}

    public var problem: String? {
        if !(maskProbability > 0 && maskProbability <= 10) { return "mask_prob must be in (0, 10], got \(maskProbability)" }
        if spanLength < 1 { return "span_length must be ≥ 1, got \(spanLength)" }
        if !(patchMaskRatio > 0 && patchMaskRatio < 1) { return "mask_ratio must be in (0, 1), got \(patchMaskRatio)" }
        return nil
    }
}

/// An audio encoder (made with a mask embedding), a linear head to the tokenizer's K labels, and the tokenizer.
/// Keys: encoder.…, head (C → K), tokenizer.… (frozen: projection and codebook, or centroids).
public final class MaskedPredictionModel: Module {
    @Key public var encoder: AudioEncoder
    @Key public var head: Linear
    @Key public var tokenizer: AudioTokenizer

    public init(encoder: AudioEncoder, tokenizer: AudioTokenizer, generator: inout RandomGenerator) {
        precondition((encoder as? MaskableAudioEncoder)?.canMask == true,
                     "masked prediction needs a patch encoder or a frame encoder made with maskEmbedding: true")
        _encoder = Key(wrappedValue: encoder, "encoder")
        _head = Key(wrappedValue: Linear(encoder.config.hiddenSize, tokenizer.codebookSize, generator: &generator), "head")
        _tokenizer = Key(wrappedValue: tokenizer, "tokenizer")
        tokenizer.freeze()
        super.init()
    }
}

/// Masked label prediction (HuBERT, BEST-RQ, BEATs): label every position of the unmasked input with the
/// tokenizer, mask the input, encode, and take the cross-entropy of the head's logits against the labels at the
/// masked positions only (HuBERT's α = 1; BEST-RQ's loss).
public final class MaskedPrediction: FeaturePretrainingObjective {
    public let predictionModel: MaskedPredictionModel
    public let config: MaskedPredictionConfig
    public var model: Module { predictionModel }
    public var encoder: AudioEncoder { predictionModel.encoder }
    /// The encoder as masking sees it (the model's initialiser checked it is one).
    var maskable: MaskableAudioEncoder { encoder as! MaskableAudioEncoder }

    public init(model: MaskedPredictionModel, config: MaskedPredictionConfig = MaskedPredictionConfig()) {
        if let problem = config.problem { preconditionFailure(problem) }
        predictionModel = model
        self.config = config
    }

    public func loss(_ batch: FeatureBatch, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int) {
        let labels = noGrad { predictionModel.tokenizer.labels(batch, for: encoder) }
        return loss(batch, labels: labels, masked: maskedPositions(batch, generator: &generator).flags)
    }

    /// The loss for given masks: B·N flags, true at the masked positions (`maskedPositions`' layout).
    public func loss(_ batch: FeatureBatch, masked: [Bool]) -> (loss: Tensor, predicted: Int) {
        loss(batch, labels: noGrad { predictionModel.tokenizer.labels(batch, for: encoder) }, masked: masked)
    }

    private func loss(_ batch: FeatureBatch, labels: [Int32], masked: [Bool]) -> (loss: Tensor, predicted: Int) {
        let states = maskable.encodeMasked(batch.features, lengths: batch.lengths, masked: masked).lastHiddenState
        let (rows, positions, channels) = (states.size(0), states.size(1), states.size(2))
        precondition(labels.count == rows * positions, "\(labels.count) labels for \(rows)×\(positions) positions")
        let indices = masked.indices.filter { masked[$0] }
        guard !indices.isEmpty else { return (mean(states) * 0, 0) }
        let gather = IntTensor(indices.map { Int32($0) }, shape: [indices.count])
        let logits = predictionModel.head(embedding(states.reshaped([rows * positions, channels]), indices: gather))  // (M, K)
        let targets = IntTensor(indices.map { labels[$0] }, shape: [indices.count])
        return (crossEntropy(logits, targets: targets), indices.count)
    }

    /// Codebook usage over a batch: the perplexity of the labels at valid positions (see `labelPerplexity`).
    public func labelPerplexity(_ batch: FeatureBatch) -> Double {
        let labels = noGrad { predictionModel.tokenizer.labels(batch, for: encoder) }
        let valid = validPositions(batch)
        let positions = labels.count / max(1, valid.count)
        let used = valid.enumerated().flatMap { row, count in labels[(row * positions)..<(row * positions + count)] }
        return Objectives.labelPerplexity(used, codebookSize: predictionModel.tokenizer.codebookSize)
    }

    /// Positions per row and how many hold audio: ⌈length / k⌉ stacked frames, or patch columns × rows.
    func validPositions(_ batch: FeatureBatch) -> [Int] { maskable.validPositions(batch.lengths, frames: batch.features.size(1)) }

    /// B·N flags, true at masked positions; only positions that hold audio are masked. Draws per row: for frames
    /// the span count's U(0, 1) then the starts; for patches the masked patches.
    public func maskedPositions(_ batch: FeatureBatch, generator: inout RandomGenerator) -> (flags: [Bool], perRow: Int) {
        let valid = validPositions(batch)
        let perRow = maskable.positionCount(frames: batch.features.size(1))
        var flags = [Bool](repeating: false, count: valid.count * perRow)
        for (row, length) in valid.enumerated() where length > 0 {
            let base = row * perRow
            if !maskable.positionsAreTimeSteps {
                let count = min(length, max(1, Int((config.patchMaskRatio * Float(length)).rounded())))
                for position in distinct(count, below: length, generator: &generator) { flags[base + position] = true }
            } else {
                let span = min(config.spanLength, length)
                let starts = length - span + 1
                let drawn = Int(config.maskProbability * Float(length) / Float(span) + generator.nextFloat())
                for start in distinct(min(starts, max(1, drawn)), below: starts, generator: &generator) {
                    for position in start..<start + span { flags[base + position] = true }
                }
            }
        }
        return (flags, perRow)
    }
}

/// `count` distinct integers of 0..<bound, uniformly (a partial Fisher–Yates shuffle).
func distinct(_ count: Int, below bound: Int, generator: inout RandomGenerator) -> ArraySlice<Int> {
    var order = Array(0..<bound)
    for slot in 0..<count { order.swapAt(slot, slot + generator.nextInt(below: bound - slot)) }
    return order[0..<count]
}
