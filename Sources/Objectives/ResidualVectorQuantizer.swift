import Foundation
import Layers
import Tensors

/// A residual vector quantiser (Juang & Gray 1982; the RVQ of SoundStream and EnCodec, MERT's acoustic teacher):
/// N codebooks of K entries; codebook 1 quantises the vector, codebook n the residual the first n − 1 left:
///     r₀ = x,  cₙ = argmin_k ‖rₙ₋₁ − Cₙ[k]‖²,  rₙ = rₙ₋₁ − Cₙ[cₙ]
/// so x ≈ Σₙ Cₙ[cₙ] and each code refines the ones before it. Fitted stage by stage with mini-batch k-means on the
/// residuals (no encoder or decoder is trained: the quantiser reads the features themselves, as HuBERT's k-means does).
/// Keys: codebooks (N, K, D), frozen.
public final class ResidualVectorQuantizer: Module {
    @Key public var codebooks: Tensor

    public var codebookCount: Int { codebooks.size(0) }
    public var entries: Int { codebooks.size(1) }
    public var dimension: Int { codebooks.size(2) }

    public init(codebooks: Tensor) {
        precondition(codebooks.rank == 3 && codebooks.size(0) >= 1 && codebooks.size(1) >= 2,
                     "RVQ codebooks are (N ≥ 1, K ≥ 2, D), got \(codebooks.shape)")
        _codebooks = Key(wrappedValue: codebooks.detached(), "codebooks")
        super.init()
        freeze()
    }

    /// vectors (M, D) → codes (M, N) row-major, and the mean squared error of the reconstruction after each stage.
    public func encode(_ vectors: Tensor) -> (codes: [Int32], errors: [Double]) {
        precondition(vectors.rank == 2 && vectors.size(1) == dimension, "RVQ of (M, \(dimension)) vectors, got \(vectors.shape)")
        let (m, n, d) = (vectors.size(0), codebookCount, dimension)
        let residual = vectors.copy()
        var codes = [Int32](repeating: 0, count: m * n)
        var errors: [Double] = []
        for stage in 0..<n {
            let table = Tensor(Array(UnsafeBufferPointer(start: codebooks.data + stage * entries * d, count: entries * d)),
                               shape: [entries, d])
            let (nearest, squared) = Self.subtractNearest(residual, table)
            for (row, code) in nearest.enumerated() { codes[row * n + stage] = code }
            errors.append(squared / Double(max(1, m * d)))
        }
        return (codes, errors)
    }

    /// Codebooks fitted to `vectors` (M, D): `count` stages of k-means with `config` (its k the entries per codebook),
    /// each on the residuals of the stages before it; stage n uses seed config.seed + n.
    public static func fit(_ vectors: Tensor, count: Int, config: KMeansConfig,
                           progress: (_ stage: Int, _ done: Int, _ total: Int) -> Void = { _, _, _ in }) -> ResidualVectorQuantizer {
        precondition(count >= 1, "an RVQ needs at least one codebook")
        let d = vectors.size(1)
        let residual = vectors.copy()
        var tables: [Float] = []
        for stage in 0..<count {
            var stageConfig = config
            stageConfig.seed = config.seed &+ UInt64(stage)
            let table = MiniBatchKMeans.fit(residual, config: stageConfig) { progress(stage, $0, $1) }
            tables += table.scalars
            _ = subtractNearest(residual, table)
        }
        return ResidualVectorQuantizer(codebooks: Tensor(tables, shape: [count, config.k, d]))
    }

    /// One stage: each row of `residual` (M, D) loses its nearest row of `table` (K, D), in place → the chosen rows
    /// and the sum of the squared values left.
    static func subtractNearest(_ residual: Tensor, _ table: Tensor) -> (codes: [Int32], squared: Double) {
        let d = residual.size(1)
        let nearest = nearestRows(residual, in: table)
        var squared = 0.0
        for (row, code) in nearest.enumerated() {
            let r = residual.data + row * d, c = table.data + Int(code) * d
            for j in 0..<d { r[j] -= c[j]; squared += Double(r[j] * r[j]) }
        }
        return (nearest, squared)
    }
}
