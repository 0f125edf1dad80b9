import Tensors

/// The unsupervised aligner of RAD-TTS (Shih et al. 2021) and "One TTS Alignment to Rule Them All" (Badlani et al.
/// 2022), which FastPitch and FastSpeech use in place of an external aligner: phoneme embeddings and mel frames
/// are each encoded by a small convolutional stack, and every frame's distribution over the phonemes is the softmax
/// of their negative squared distance:
///     k = conv₁ₓ₁(ReLU(conv₃(e)))                       e: (B, P, C) phoneme embeddings → (B, P, A)
///     q = conv₁ₓ₁(ReLU(conv₁ₓ₁(ReLU(conv₃(m)))))        m: (B, T, M) mel frames → (B, T, A)
///     scores[b, t, p] = −τ · ‖q[b, t] − k[b, p]‖²       τ = `temperature`
/// Keys: key_proj.0, key_proj.2, query_proj.0, query_proj.2, query_proj.4 (NeMo's AlignmentEncoder names).
public final class AlignmentEncoder: Module {
    @Key public var key1: SameConvolution1D
    @Key public var key2: SameConvolution1D
    @Key public var query1: SameConvolution1D
    @Key public var query2: SameConvolution1D
    @Key public var query3: SameConvolution1D
    public let temperature: Float

    public init(dModel: Int, melCount: Int, dimension: Int, temperature: Float = 0.0005,
                generator: inout RandomGenerator) {
        self.temperature = temperature
        _key1 = Key(wrappedValue: SameConvolution1D(dModel, 2 * dModel, kernel: 3, generator: &generator), "key_proj.0")
        _key2 = Key(wrappedValue: SameConvolution1D(2 * dModel, dimension, kernel: 1, generator: &generator), "key_proj.2")
        _query1 = Key(wrappedValue: SameConvolution1D(melCount, 2 * melCount, kernel: 3, generator: &generator), "query_proj.0")
        _query2 = Key(wrappedValue: SameConvolution1D(2 * melCount, melCount, kernel: 1, generator: &generator), "query_proj.2")
        _query3 = Key(wrappedValue: SameConvolution1D(melCount, dimension, kernel: 1, generator: &generator), "query_proj.4")
        super.init()
    }

    /// embedded: (B, P, C), mel: (B, T, M) → scores (B, T, P) before any masking or softmax.
    public func callAsFunction(embedded: Tensor, phonemes: SequencePadding, mel: Tensor, frames: SequencePadding) -> Tensor {
        let keys = key2(relu(key1(embedded * phonemes.mask)))                            // (B, P, A)
        let queries = query3(relu(query2(relu(query1(mel * frames.mask)))))             // (B, T, A)
        // ‖q − k‖² = ‖q‖² − 2 q·k + ‖k‖²
        let cross = matmul(queries, keys, transposeB: true)                              // (B, T, P)
        let queryNorms = sum(queries * queries, axes: [2], keepDims: true)               // (B, T, 1)
        let keyNorms = sum(keys * keys, axes: [2], keepDims: true).transposed(1, 2)      // (B, 1, P)
        return (cross * 2 - queryNorms - keyNorms) * temperature
    }
}
