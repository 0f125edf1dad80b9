import Layers
import Tensors

/// BEST-RQ's random-projection quantiser (Chiu et al. 2022, "Self-supervised Learning with Random-projection
/// Quantizer for Speech Recognition", §2.1; BEATs' first-iteration tokenizer, Chen et al. 2022 §2.2): a frozen
/// Xavier-initialised projection A (D, d) of each (stacked) normalised frame or patch x, and a frozen codebook of
/// K standard-normal vectors; the label is argmin_k ‖ c_k/‖c_k‖ − Ax/‖Ax‖ ‖, i.e. the code of highest cosine.
/// Nothing here is trained: both tensors are drawn from `seed` alone (not from the model's generator), so the
/// same seed and sizes give the same quantiser, and checkpoints also store them (frozen parameters).
/// Keys: projection (D, d), codebook (K, d) with unit rows.
public final class RandomProjectionQuantizer: Module, AudioTokenizer {
    @Key public var projection: Tensor
    @Key public var codebook: Tensor

    public var codebookSize: Int { codebook.size(0) }

    /// inputDimension: k·F for a frame encoder, pf·pt for a patch encoder.
    public init(inputDimension: Int, codeDimension: Int, codebookSize: Int, seed: UInt64) {
        precondition(inputDimension >= 1 && codeDimension >= 1 && codebookSize >= 2, "quantiser sizes must be ≥ 1 (codebook ≥ 2)")
        var generator = RandomGenerator(seed: seed)
        // Xavier (Glorot) uniform: U(±√(6 / (fan_in + fan_out))).
        let bound = (6 / Float(inputDimension + codeDimension)).squareRoot()
        let projection = Tensor.uniform([inputDimension, codeDimension], low: -bound, high: bound, generator: &generator)
        let codebook = Tensor.normal([codebookSize, codeDimension], generator: &generator)
        normalizeRows(codebook)
        _projection = Key(wrappedValue: projection, "projection")
        _codebook = Key(wrappedValue: codebook, "codebook")
        super.init()
    }

    /// vectors: (N, D) → the nearest code of each, (N).
    public func codes(_ vectors: Tensor) -> [Int32] {
        let projected = noGrad { matmul(vectors, projection) }                                  // (N, d)
        normalizeRows(projected)
        return nearestRows(projected, in: codebook)
    }

    /// Quantises what the encoder embeds at each position: its stacked frames or its patches.
    public func labels(_ batch: FeatureBatch, for encoder: AudioEncoder) -> [Int32] {
        guard let maskable = encoder as? MaskableAudioEncoder else {
            preconditionFailure("a random-projection quantiser reads frame or patch encoders, not \(type(of: encoder))")
        }
        let inputs = maskable.positionInputs(batch.features)                                   // (B, N, k·F or pf·pt)
        precondition(inputs.size(2) == projection.size(0),
                     "inputs of \(inputs.size(2)) values for a projection from \(projection.size(0))")
        return codes(inputs.reshaped([inputs.size(0) * inputs.size(1), inputs.size(2)]))
    }
}

/// Scales each row of x (N, D) to unit L2 norm in place (a zero row stays zero).
func normalizeRows(_ x: Tensor) {
    let (n, d) = (x.size(0), x.count / max(1, x.size(0)))
    let p = x.data
    for row in 0..<n {
        var sum: Float = 0
        for j in 0..<d { sum += p[row * d + j] * p[row * d + j] }
        let scale = sum > 0 ? 1 / sum.squareRoot() : 0
        for j in 0..<d { p[row * d + j] *= scale }
    }
}
