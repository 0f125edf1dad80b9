import Layers
import Tensors

/// BEATs' tokenizer estimator (Chen et al. 2022 §2.2): a small Transformer that reads the quantised codes of
/// every patch and predicts the teacher's last-layer features there. Used only to train the tokenizer.
/// q: (B, N, d) → (B, N, D_teacher). Keys: input (d → C), position_embeddings (P, C), layers.N, output (C → D).
public final class BEATsFeatureDecoder: Module {
    @Key public var input: Linear
    @Key public var positionTable: Tensor
    @Key public var layers: [BertLayer]
    @Key public var output: Linear

    public init(codeDimension: Int, hiddenSize: Int, heads: Int, layers: Int, intermediateSize: Int, positions: Int,
                targetDimension: Int, eps: Float, generator: inout RandomGenerator) {
        _input = Key(wrappedValue: Linear(codeDimension, hiddenSize, generator: &generator), "input")
        _positionTable = Key(wrappedValue: Tensor.normal([positions, hiddenSize], std: 0.02, generator: &generator, requiresGrad: true),
                             "position_embeddings")
        _layers = Key(wrappedValue: (0..<layers).map { _ in
            BertLayer(dModel: hiddenSize, heads: heads, intermediateSize: intermediateSize, eps: eps, generator: &generator)
        }, "layers")
        _output = Key(wrappedValue: Linear(hiddenSize, targetDimension, generator: &generator), "output")
        super.init()
    }

    /// quantised: (B, N, d); attentionMask: (B, N), 1 = a patch of audio → (B, N, D).
    public func callAsFunction(_ quantised: Tensor, attentionMask: IntTensor) -> Tensor {
        let count = quantised.size(1)
        precondition(count <= positionTable.size(0), "\(count) patches for \(positionTable.size(0)) decoder positions")
        var h = input(quantised) + slice(positionTable, axis: 0, range: 0..<count)
        for layer in layers { h = layer(h, attentionMask: attentionMask) }
        return output(h)
    }
}

/// The tokenizer with the decoder that trains it. Keys: tokenizer.…, decoder.…; a masked-prediction model that
/// learns this tokenizer's labels stores it under the same `tokenizer.` prefix.
public final class BEATsTokenizerModel: Module {
    @Key public var tokenizer: BEATsTokenizer
    @Key public var decoder: BEATsFeatureDecoder

    public init(tokenizer: BEATsTokenizer, decoder: BEATsFeatureDecoder) {
        _tokenizer = Key(wrappedValue: tokenizer, "tokenizer")
        _decoder = Key(wrappedValue: decoder, "decoder")
        super.init()
    }
}

/// Training BEATs' acoustic tokenizer by distillation (Chen et al. 2022 §2.2, eq. 1): quantise each patch,
/// decode the codes, and maximise the cosine similarity of the decoder's output with a frozen teacher's
/// last-layer features at that patch, plus the commitment term ‖sg(q) − z‖² (z and q unit vectors; the
/// straight-through estimator passes the decoder's gradient to z). In training mode every loss also moves the
/// codebook one EMA step. Loss = commitment − cosine, each a mean over the patches that hold audio.
public final class BEATsTokenizerTraining: FeaturePretrainingObjective {
    public let tokenizerModel: BEATsTokenizerModel
    /// nil when loaded only for its encoder (probes): the weights are there, but not what they distil.
    public let teacher: AudioEncoder?
    public var model: Module { tokenizerModel }
    public var encoder: AudioEncoder { tokenizerModel.tokenizer.encoder }
    /// Instance-normalise the teacher's features before the cosine (see `instanceNormalized`).
    public var normalizeTargets: Bool

    /// The teacher must cut the tokenizer's patches (its features are compared patch by patch).
    public init(model: BEATsTokenizerModel, teacher: AudioEncoder?, normalizeTargets: Bool = false) {
        if let teacher {
            precondition(teacher.hasSamePositions(as: model.tokenizer.encoder),
                         "the teacher must be a patch encoder that cuts the tokenizer's patches")
            precondition(teacher.config.hiddenSize == model.decoder.output.outFeatures,
                         "a decoder to \(model.decoder.output.outFeatures) features for a teacher of \(teacher.config.hiddenSize)")
        }
        tokenizerModel = model
        self.teacher = teacher
        self.normalizeTargets = normalizeTargets
    }

    /// The parts of the loss and the codes they chose.
    public struct Terms {
        public var loss: Tensor
        /// Mean cosine similarity of decoder output and teacher features (a scalar, detached).
        public var cosine: Float
        /// Mean ‖sg(q) − z‖² (detached).
        public var commitment: Float
        /// One code per patch, B·N (padded patches included).
        public var codes: [Int32]
        /// The unit code-space vectors z (B, N, d), with gradients.
        public var vectors: Tensor
        /// How many patches hold audio (the weight of the means).
        public var valid: Int
    }

    public func loss(_ batch: FeatureBatch, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int) {
        guard let teacher else { preconditionFailure("this tokenizer was loaded without its teacher; it cannot be trained") }
        let output = noGrad { teacher(batch.features, lengths: batch.lengths) }
        let targets = normalizeTargets ? Self.instanceNormalized(output.lastHiddenState, attentionMask: output.attentionMask)
                                       : output.lastHiddenState                                            // (B, N, D)
        let terms = distillation(patches: tokenizerModel.tokenizer.encoder.patches(batch.features), lengths: batch.lengths,
                                 targets: targets, generator: &generator)
        return (terms.loss, terms.valid)
    }

    /// patches: (B, N, pf·pt); targets: the teacher's features (B, N, D) → the loss and its parts. In training
    /// mode, first initialises the codebook from the valid patches' vectors if it never was, and after quantising
    /// moves it one EMA step, restarting codes out of use (both draw from `generator`).
    public func distillation(patches: Tensor, lengths: [Int], targets: Tensor, generator: inout RandomGenerator) -> Terms {
        let tokenizer = tokenizerModel.tokenizer
        let (vectors, attentionMask) = tokenizer.codeVectors(patches: patches, lengths: lengths)
        let (rows, count, d) = (vectors.size(0), vectors.size(1), vectors.size(2))
        precondition(targets.shape == [rows, count, tokenizerModel.decoder.output.outFeatures],
                     "teacher features \(targets.shape) for \(rows)×\(count) patches")
        let z = vectors.reshaped([rows * count, d])                                                    // (M, d)
        let kept = attentionMask.values.indices.filter { attentionMask.values[$0] != 0 }
        let validVectors = noGrad { embedding(z, indices: IntTensor(kept.map { Int32($0) }, shape: [kept.count])) }
        if tokenizer.isTraining && !tokenizer.isCodebookInitialized {
            tokenizer.initializeCodebook(from: validVectors, generator: &generator)
        }
        let codes = tokenizer.nearestCodes(z)
        let q = embedding(tokenizer.codebook, indices: IntTensor(codes, shape: [codes.count]))          // (M, d)
        let straightThrough = z + noGrad { q - z }
        let decoded = tokenizerModel.decoder(straightThrough.reshaped([rows, count, d]), attentionMask: attentionMask)
        let cosines = sum(l2Normalized(decoded) * l2Normalized(targets), axes: [2])                     // (B, N)
        let difference = z - q
        let distances = sum(difference * difference, axes: [1]).reshaped([rows, count])                 // (B, N)
        let valid = attentionMask.values.reduce(0) { $0 + Int($1) }
        let weights = Tensor(attentionMask.values.map { Float($0) / Float(max(1, valid)) }, shape: [rows, count])
        let cosine = sum(cosines * weights), commitment = sum(distances * weights)
        if tokenizer.isTraining {
            tokenizer.updateCodebook(vectors: validVectors, codes: kept.map { codes[$0] }, generator: &generator)
        }
        return Terms(loss: commitment - cosine, cosine: cosine.item, commitment: commitment.item, codes: codes,
                     vectors: vectors, valid: valid)
    }

    /// Each channel of each clip's states, minus its mean over the clip's valid patches and divided by their
    /// standard deviation (+ ε), padded patches zero: data2vec's instance-normalised targets (Baevski et al.
    /// 2022), which take away the direction all patches share, so that matching the targets by cosine needs the
    /// codes rather than one constant output. states: (B, N, D), attentionMask: (B, N) → (B, N, D), no gradient.
    public static func instanceNormalized(_ states: Tensor, attentionMask: IntTensor, eps: Float = 1e-5) -> Tensor {
        let (rows, count, d) = (states.size(0), states.size(1), states.size(2))
        let out = Tensor(zeros: states.shape)
        let x = states.data, y = out.data
        for b in 0..<rows {
            let valid = (0..<count).filter { attentionMask.values[b * count + $0] != 0 }
            guard !valid.isEmpty else { continue }
            for j in 0..<d {
                var mean: Float = 0
                for n in valid { mean += x[(b * count + n) * d + j] }
                mean /= Float(valid.count)
                var variance: Float = 0
                for n in valid { variance += (x[(b * count + n) * d + j] - mean) * (x[(b * count + n) * d + j] - mean) }
                let scale = 1 / (variance / Float(valid.count) + eps).squareRoot()
                for n in valid { y[(b * count + n) * d + j] = (x[(b * count + n) * d + j] - mean) * scale }
            }
        }
        return out
    }

    /// Codebook usage over some batches: the perplexity of the codes of patches that hold audio (see
    /// `labelPerplexity`) and how many distinct codes they use.
    public func codebookUsage(_ batches: [FeatureBatch]) -> (perplexity: Double, used: Int) {
        let tokenizer = tokenizerModel.tokenizer
        let wasTraining = tokenizer.isTraining
        tokenizer.eval()
        defer { tokenizer.train(wasTraining) }
        var codes: [Int32] = []
        for batch in batches {
            let (vectors, mask) = noGrad { tokenizer.codeVectors(patches: tokenizer.encoder.patches(batch.features), lengths: batch.lengths) }
            let all = tokenizer.nearestCodes(vectors.reshaped([vectors.size(0) * vectors.size(1), vectors.size(2)]))
            codes += all.indices.filter { mask.values[$0] != 0 }.map { all[$0] }
        }
        return (labelPerplexity(codes, codebookSize: tokenizer.codebookSize), Set(codes).count)
    }
}

extension BEATsTokenizerTraining: EvaluationMetricsReporting {
    /// codebook_perplexity and codebook_used over the validation crops.
    public func evaluationMetrics(_ batches: [FeatureBatch]) -> [String: Double] {
        let usage = codebookUsage(batches)
        return ["codebook_perplexity": usage.perplexity, "codebook_used": Double(usage.used)]
    }
}
