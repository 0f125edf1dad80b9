import Layers
import Tensors

/// SSAST's masked patch modelling (Gong, Lai, Chung & Glass 2022, "SSAST: Self-Supervised Audio Spectrogram
/// Transformer", §2.2–2.3).
public struct SSASTConfig: Equatable {
    /// Fraction of each clip's patches masked: 400 of 512 in the paper.
    public var maskRatio: Float = 400.0 / 512.0
    /// Clustered masks: squares of (clusterFactor + U{0 … clusterFactor−1}) neighbouring patches (the paper's
    /// `cluster` with factor 3: 3×3 to 5×5); 1 masks single patches.
    public var clusterFactor = 3
    /// Weight of the generative (reconstruction) MSE beside the discriminative InfoNCE: 10 in the paper.
    public var generativeWeight: Float = 10
    /// Where InfoNCE draws the patches a prediction must be told from.
    public var negatives: Negatives = .clip

    public enum Negatives: String, CaseIterable, Codable {
        /// The same clip's other masked patches (the paper): what is constant within a clip (the speaker, the
        /// channel) never tells a patch from its negatives, so the encoder is not asked to keep it.
        case clip
        /// Every other masked patch of the batch: the other clips' patches make the clip's identity useful.
        case batch
        /// Both terms, summed: the clip's InfoNCE keeps what tells a clip's patches apart (phonemes), the batch's
        /// adds what tells clips apart (the speaker).
        case clipAndBatch = "clip_and_batch"
    }

    public init() {}

    public var problem: String? {
        if !(maskRatio > 0 && maskRatio < 1) { return "mask_ratio must be in (0, 1), got \(maskRatio)" }
        if clusterFactor < 1 { return "cluster_factor must be ≥ 1, got \(clusterFactor)" }
        if !(generativeWeight >= 0) { return "generative_weight must be ≥ 0, got \(generativeWeight)" }
        return nil
    }
}

/// Two-layer head (Linear → ReLU → Linear) from the encoder width to a patch (SSAST's cpredlayer/gpredlayer).
public final class PatchPredictionHead: Module {
    @Key public var hidden: Linear
    @Key public var output: Linear

    public init(hiddenSize: Int, patchSize: Int, generator: inout RandomGenerator) {
        _hidden = Key(wrappedValue: Linear(hiddenSize, hiddenSize, generator: &generator), "0")
        _output = Key(wrappedValue: Linear(hiddenSize, patchSize, generator: &generator), "2")
        super.init()
    }

    /// x: (..., C) → (..., pf·pt).
    public func callAsFunction(_ x: Tensor) -> Tensor { output(relu(hidden(x))) }
}

/// A patch encoder with SSAST's discriminative and generative heads.
/// Keys: encoder.…, discriminative_head.{0,2}, generative_head.{0,2}.
public final class SSASTModel: Module {
    @Key public var encoder: AudioPatchEncoder
    @Key public var discriminativeHead: PatchPredictionHead
    @Key public var generativeHead: PatchPredictionHead

    public init(encoder: AudioPatchEncoder, generator: inout RandomGenerator) {
        let (c, p) = (encoder.config.hiddenSize, encoder.patchSize)
        _encoder = Key(wrappedValue: encoder, "encoder")
        _discriminativeHead = Key(wrappedValue: PatchPredictionHead(hiddenSize: c, patchSize: p, generator: &generator),
                                  "discriminative_head")
        _generativeHead = Key(wrappedValue: PatchPredictionHead(hiddenSize: c, patchSize: p, generator: &generator),
                              "generative_head")
        super.init()
    }
}

/// SSAST: mask clustered patches (the same count M in every clip of a batch: the ratio of the shortest clip's
/// patches), encode, and at the masked positions
/// - discriminative: InfoNCE, −mean log softmax_j(ĉ_i · x_j) at j = i, over the clip's masked patches (or the
///   batch's, or the sum of both: `negatives`);
/// - generative: MSE between the reconstructed and the original patches;
/// loss = InfoNCE + generativeWeight · MSE.
public final class SSAST: FeaturePretrainingObjective {
    public let ssastModel: SSASTModel
    public let config: SSASTConfig
    public var model: Module { ssastModel }
    public var encoder: AudioEncoder { ssastModel.encoder }

    public init(model: SSASTModel, config: SSASTConfig = SSASTConfig()) {
        if let problem = config.problem { preconditionFailure(problem) }
        ssastModel = model
        self.config = config
    }

    public func loss(_ batch: FeatureBatch, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int) {
        let encoder = ssastModel.encoder
        let patches = encoder.patches(batch.features)                                            // (B, N, P)
        let count = patches.size(1)
        let columns = encoder.patchColumns(batch.lengths, columns: count / encoder.rows)
        let masked = maskedPatches(validColumns: columns, rows: encoder.rows, totalColumns: count / encoder.rows,
                                   generator: &generator)
        return loss(batch, patches: patches, masked: masked)
    }

    /// The loss for given masks: per clip the same number of distinct patch indices (time-major, see
    /// `maskedPatches`).
    public func loss(_ batch: FeatureBatch, masked: [[Int]]) -> (loss: Tensor, predicted: Int) {
        loss(batch, patches: ssastModel.encoder.patches(batch.features), masked: masked)
    }

    private func loss(_ batch: FeatureBatch, patches: Tensor, masked: [[Int]]) -> (loss: Tensor, predicted: Int) {
        let encoder = ssastModel.encoder
        let (rows, count, size) = (patches.size(0), patches.size(1), patches.size(2))
        precondition(masked.count == rows && masked.allSatisfy { $0.count == masked[0].count } && !masked[0].isEmpty,
                     "SSAST masks the same number of patches in each of the \(rows) clips")
        let perClip = masked[0].count
        var flags = [Bool](repeating: false, count: rows * count)
        var indices: [Int32] = []
        for (row, positions) in masked.enumerated() {
            for position in positions {
                flags[row * count + position] = true
                indices.append(Int32(row * count + position))
            }
        }
        let gather = IntTensor(indices, shape: [rows, perClip])
        let states = encoder.encode(patches: patches, lengths: batch.lengths, masked: flags).lastHiddenState
        let atMasked = embedding(states.reshaped([rows * count, states.size(2)]), indices: gather)   // (B, M, C)
        let targets = noGrad { embedding(patches.reshaped([rows * count, size]), indices: gather) } // (B, M, P)

        let infoNCE = maskedPatchInfoNCE(predictions: ssastModel.discriminativeHead(atMasked), targets: targets,
                                         negatives: config.negatives)
        let reconstruction = mseLoss(ssastModel.generativeHead(atMasked), targets)
        return (infoNCE + reconstruction * config.generativeWeight, rows * perClip)
    }

    /// InfoNCE of predictions (B, M, P) against their targets (B, M, P): each prediction scores every candidate by
    /// dot product, its own target among the clip's M (or the batch's B·M) candidates; mean over the B·M predictions
    /// (clipAndBatch: the sum of both means).
    public func maskedPatchInfoNCE(predictions: Tensor, targets: Tensor, negatives: SSASTConfig.Negatives) -> Tensor {
        let (rows, perClip, size) = (predictions.size(0), predictions.size(1), predictions.size(2))
        switch negatives {
        case .clip:
            let scores = matmul(predictions, targets, transposeB: true)                              // (B, M, M)
            let own = IntTensor((0..<rows * perClip).map { Int32($0 % perClip) }, shape: [rows * perClip])
            return crossEntropy(scores.reshaped([rows * perClip, perClip]), targets: own)
        case .batch:
            let scores = matmul(predictions.reshaped([rows * perClip, size]),
                                targets.reshaped([rows * perClip, size]), transposeB: true)         // (B·M, B·M)
            let own = IntTensor((0..<rows * perClip).map { Int32($0) }, shape: [rows * perClip])
            return crossEntropy(scores, targets: own)
        case .clipAndBatch:
            return maskedPatchInfoNCE(predictions: predictions, targets: targets, negatives: .clip)
                + maskedPatchInfoNCE(predictions: predictions, targets: targets, negatives: .batch)
        }
    }

    /// Per clip, M distinct masked patch indices (time-major: column · rows + row) among its valid columns, drawn as
    /// squares of neighbouring patches at uniform positions until M are covered (the last square cut to fit).
    /// M = round(ratio · the fewest valid patches of any clip), at least 1.
    public func maskedPatches(validColumns: [Int], rows: Int, totalColumns: Int,
                              generator: inout RandomGenerator) -> [[Int]] {
        let fewest = validColumns.map { max(1, $0) * rows }.min() ?? rows
        let budget = min(fewest, max(1, Int((config.maskRatio * Float(fewest)).rounded())))
        return validColumns.map { valid in
            let columns = max(1, valid)
            var taken = Set<Int>(), order: [Int] = []
            while order.count < budget {
                let side = config.clusterFactor + (config.clusterFactor > 1 ? generator.nextInt(below: config.clusterFactor) : 0)
                let (row, column) = (generator.nextInt(below: rows), generator.nextInt(below: columns))
                for c in column..<min(columns, column + side) {
                    for r in row..<min(rows, row + side) where order.count < budget && taken.insert(c * rows + r).inserted {
                        order.append(c * rows + r)
                    }
                }
            }
            return order
        }
    }
}
