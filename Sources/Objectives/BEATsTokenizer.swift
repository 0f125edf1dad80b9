import Layers
import Tensors

/// BEATs' acoustic tokenizer (Chen et al. 2022, "BEATs: Audio Pre-Training with Acoustic Tokenizers", §2.2):
/// a Transformer over spectrogram patches, a projection (Linear → tanh → Linear, BEATs' `quantize_layer`) to the
/// code space, and a vector quantiser whose codebook and inputs are both L2-normalised, so the nearest code is
/// the one of highest cosine. The codebook is not trained by gradients but by an exponential moving average of
/// the normalised vectors assigned to each code (BEiT v2's NormEMAVectorQuantizer, which BEATs uses).
/// Before the first EMA step the codebook is initialised from the data (BEiT v2's kmeans_init): spherical k-means
/// on the first training batch's vectors, so that codes start where the encoder's outputs lie instead of
/// scattered over the sphere (random codes leave most of the codebook unused).
/// Codes that fall out of use are restarted at random vectors of the batch (the random restarts of Dhariwal et al.
/// 2020, "Jukebox"): without them, codes the encoder's outputs drift away from are never chosen again.
/// Keys: encoder.…, quantize_layer.0, quantize_layer.2, quantize.embedding.weight (K, d) with unit rows,
/// quantize.embedding.initted (1): 1 once the codebook was initialised from data, quantize.cluster_size (K): the
/// EMA of how many vectors of a batch chose each code.
public final class BEATsTokenizer: Module, AudioTokenizer {
    @Key public var encoder: AudioPatchEncoder
    @Key public var quantizeHidden: Linear
    @Key public var quantizeOutput: Linear
    @Key public var codebook: Tensor
    @Key public var initialized: Tensor
    @Key public var clusterSize: Tensor
    /// Weight of the old code in each EMA step (the paper: 0.99).
    public var emaDecay: Float
    /// A code whose cluster-size EMA is below this is restarted at a random vector of the batch; 0: never.
    public var restartThreshold: Float = 1

    public var codebookSize: Int { codebook.size(0) }
    public var codeDimension: Int { codebook.size(1) }

    /// The encoder's mask embedding is frozen: the tokenizer reads whole, unmasked spectrograms.
    public init(encoder: AudioPatchEncoder, codebookSize: Int, codeDimension: Int, emaDecay: Float = 0.99,
                generator: inout RandomGenerator) {
        precondition(codebookSize >= 2 && codeDimension >= 1, "a codebook of ≥ 2 codes of dimension ≥ 1")
        precondition(emaDecay >= 0 && emaDecay < 1, "the EMA decay must be in [0, 1), got \(emaDecay)")
        let c = encoder.config.hiddenSize
        encoder.maskEmbedding.requiresGrad = false
        _encoder = Key(wrappedValue: encoder, "encoder")
        _quantizeHidden = Key(wrappedValue: Linear(c, c, generator: &generator), "quantize_layer.0")
        _quantizeOutput = Key(wrappedValue: Linear(c, codeDimension, generator: &generator), "quantize_layer.2")
        let codebook = Tensor.normal([codebookSize, codeDimension], generator: &generator)
        normalizeRows(codebook)
        _codebook = Key(wrappedValue: codebook, "quantize.embedding.weight")
        _initialized = Key(wrappedValue: Tensor(zeros: [1]), "quantize.embedding.initted")
        _clusterSize = Key(wrappedValue: Tensor(zeros: [codebookSize]), "quantize.cluster_size")
        self.emaDecay = emaDecay
        super.init()
    }

    /// patches: (B, N, pf·pt) from `encoder.patches(_:)` → the L2-normalised code-space vectors (B, N, d) and the
    /// encoder's padding mask (B, N).
    public func codeVectors(patches: Tensor, lengths: [Int]) -> (vectors: Tensor, attentionMask: IntTensor) {
        let output = encoder.encode(patches: patches, lengths: lengths, masked: nil)
        let projected = quantizeOutput(tanh(quantizeHidden(output.lastHiddenState)))            // (B, N, d)
        return (l2Normalized(projected), output.attentionMask)
    }

    /// vectors: (M, d) with unit rows → the code of highest cosine for each (ties to the lower index).
    public func nearestCodes(_ vectors: Tensor) -> [Int32] {
        noGrad { nearestRows(vectors, in: codebook) }     // unit codes: least distance = highest cosine
    }

    /// The labels of masked prediction: the code of every patch of the unmasked crops. The student must cut the
    /// same patches (`fits(student:)`).
    public func labels(_ batch: FeatureBatch, for encoder: AudioEncoder) -> [Int32] {
        precondition(fits(student: encoder), "a BEATs tokenizer labels a patch encoder of its own patch geometry")
        // Deterministic labels even inside a model in training mode (no dropout in the tokenizer).
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        let vectors = noGrad { codeVectors(patches: self.encoder.patches(batch.features), lengths: batch.lengths).vectors }
        return nearestCodes(vectors.reshaped([vectors.size(0) * vectors.size(1), vectors.size(2)]))
    }

    /// Whether `student`'s positions are this tokenizer's patches: a patch encoder of the same feature bins and
    /// patch size, whose position table is no longer.
    public func fits(student: AudioEncoder) -> Bool {
        let (t, s) = (encoder.config, student.config)
        return student.hasSamePositions(as: encoder) && t.maxFrames >= s.maxFrames
    }

    public var isCodebookInitialized: Bool { initialized.data[0] != 0 }

    /// Spherical k-means on unit vectors (M, d): the codes start at min(K, M) distinct vectors drawn by
    /// `generator` (the rest stay as they are), then `iterations` times each code becomes the normalised sum of the
    /// vectors nearest to it (a code nobody chose stays). Marks the codebook initialised; the cluster sizes are
    /// the last assignment's counts.
    public func initializeCodebook(from vectors: Tensor, iterations: Int = 10, generator: inout RandomGenerator) {
        precondition(vectors.rank == 2 && vectors.size(1) == codeDimension, "(M, \(codeDimension)) vectors, got \(vectors.shape)")
        let (m, d) = (vectors.size(0), codeDimension)
        let v = vectors.data, c = codebook.data
        var order = Array(0..<m)
        for slot in 0..<min(codebookSize, m) {
            order.swapAt(slot, slot + generator.nextInt(below: m - slot))
            (c + slot * d).update(from: v + order[slot] * d, count: d)
        }
        for _ in 0..<iterations {
            let codes = nearestCodes(vectors)
            for k in 0..<codebookSize { clusterSize.data[k] = 0 }
            for code in codes { clusterSize.data[Int(code)] += 1 }
            var sums = [Float](repeating: 0, count: codebookSize * d)
            for (row, code) in codes.enumerated() { for j in 0..<d { sums[Int(code) * d + j] += v[row * d + j] } }
            for k in 0..<codebookSize {
                let norm = (0..<d).reduce(Float(0)) { $0 + sums[k * d + $1] * sums[k * d + $1] }.squareRoot()
                guard norm > 0 else { continue }
                for j in 0..<d { c[k * d + j] = sums[k * d + j] / norm }
            }
        }
        initialized.data[0] = 1
    }

    /// One EMA step of the codebook from normalised vectors (M, d) and their codes (BEiT v2's norm_ema_inplace):
    /// for every code k that some vector chose, c_k ← ℓ2(decay · c_k + (1 − decay) · ℓ2(mean of its vectors));
    /// codes nobody chose stay as they are. The cluster sizes move alike, n_k ← decay · n_k + (1 − decay) · count_k;
    /// then every code with n_k < restartThreshold is set to a vector of the batch drawn by `generator`.
    public func updateCodebook(vectors: Tensor, codes: [Int32], generator: inout RandomGenerator) {
        precondition(vectors.rank == 2 && vectors.size(1) == codeDimension && codes.count == vectors.size(0),
                     "(M, \(codeDimension)) vectors with M codes, got \(vectors.shape) and \(codes.count)")
        let d = codeDimension
        var sums = [Float](repeating: 0, count: codebookSize * d)
        var counts = [Int](repeating: 0, count: codebookSize)
        let v = vectors.data
        for (row, code) in codes.enumerated() {
            counts[Int(code)] += 1
            for j in 0..<d { sums[Int(code) * d + j] += v[row * d + j] }
        }
        let c = codebook.data
        for k in 0..<codebookSize where counts[k] > 0 {
            var norm: Float = 0
            for j in 0..<d { norm += sums[k * d + j] * sums[k * d + j] }
            let scale = norm > 0 ? (1 - emaDecay) / norm.squareRoot() : 0
            var updated: Float = 0
            for j in 0..<d {
                c[k * d + j] = emaDecay * c[k * d + j] + scale * sums[k * d + j]
                updated += c[k * d + j] * c[k * d + j]
            }
            let rescale = updated > 0 ? 1 / updated.squareRoot() : 0
            for j in 0..<d { c[k * d + j] *= rescale }
        }
        let n = clusterSize.data
        for k in 0..<codebookSize { n[k] = emaDecay * n[k] + (1 - emaDecay) * Float(counts[k]) }
        guard restartThreshold > 0, !codes.isEmpty else { return }
        for k in 0..<codebookSize where n[k] < restartThreshold {
            (c + k * d).update(from: v + generator.nextInt(below: codes.count) * d, count: d)
        }
    }
}

/// x (…, D) → x / √(‖x‖² + ε) along the last axis; composed of differentiable ops.
public func l2Normalized(_ x: Tensor, eps: Float = 1e-12) -> Tensor {
    x / sqrt(sum(x * x, axes: [x.rank - 1], keepDims: true) + eps)
}
