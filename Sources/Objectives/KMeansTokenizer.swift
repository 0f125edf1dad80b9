import Foundation
import Layers
import Tensors

/// What HuBERT's k-means clusters (Hsu et al. 2021, "HuBERT", §II-A and §IV-B), computed alike when the centroids
/// are fitted (`pretrain kmeans`) and when they label a training batch.
public enum ClusteredFeatures {
    /// The first `count` cepstral coefficients of each normalised log-mel frame (Kaldi's MFCC DCT-II and lifter 22,
    /// as AudioData's MFCCComputer, applied to the frames the model reads). Batches hold normalised fbank, not
    /// waveforms, so these are the MFCCs of the normalised filterbank; HuBERT's first iteration clusters 39-d
    /// MFCC + Δ + ΔΔ of the waveform. One vector per frame.
    case cepstra(count: Int)
    /// The output of layer `index` (0: the embedding output) of a trained encoder, frozen and in evaluation mode
    /// (HuBERT's later iterations). One vector per position of that encoder.
    case layer(AudioEncoder, index: Int)

    /// Values per vector.
    public var dimension: Int {
        switch self {
        case .cepstra(let count): return count
        case .layer(let encoder, _): return encoder.config.hiddenSize
        }
    }

    /// batch (B, T, F) → vectors (B, P, D) and each row's valid vectors (P = T frames, or the teacher's positions).
    public func vectors(_ batch: FeatureBatch) -> (vectors: Tensor, valid: [Int]) {
        switch self {
        case .cepstra(let count):
            let (rows, frames, bins) = (batch.features.size(0), batch.features.size(1), batch.features.size(2))
            let flat = batch.features.reshaped([rows * frames, bins])
            let cepstra = noGrad { matmul(flat, cepstralMatrix(bins: bins, count: count)) }    // (B·T, C)
            return (cepstra.reshaped([rows, frames, count]), batch.lengths.map { min($0, frames) })
        case let .layer(teacher, index):
            let output = noGrad { teacher(batch.features, lengths: batch.lengths) }
            let mask = output.attentionMask
            let width = mask.shape[1]
            let valid = (0..<mask.shape[0]).map { row in (0..<width).reduce(0) { $0 + Int(mask.values[row * width + $1]) } }
            return (output.hiddenStates[index], valid)
        }
    }
}

/// (F, C): cepstrum = logMel · M; Kaldi's orthonormal DCT-II (ComputeDctMatrix) with the lifter
/// 1 + 11·sin(π i / 22) folded into column i.
public func cepstralMatrix(bins: Int, count: Int) -> Tensor {
    precondition(count >= 1 && count <= bins, "cepstra: 1…\(bins) coefficients, got \(count)")
    var values = [Float](repeating: 0, count: bins * count)
    for n in 0..<bins {
        for k in 0..<count {
            let dct = k == 0 ? (1 / Double(bins)).squareRoot()
                : (2 / Double(bins)).squareRoot() * cos(Double.pi / Double(bins) * (Double(n) + 0.5) * Double(k))
            values[n * count + k] = Float(dct * (1 + 11 * sin(Double.pi * Double(k) / 22)))
        }
    }
    return Tensor(values, shape: [bins, count])
}

/// HuBERT's labels: the nearest of K frozen centroids (fitted by `MiniBatchKMeans`) to each position's
/// `ClusteredFeatures`. Per-frame features label a frame encoder's position n by frame n·k (fairseq's label
/// subsampling); a teacher's positions must be the student's. Keys: centroids (K, D).
public final class KMeansTokenizer: Module, AudioTokenizer {
    @Key public var centroids: Tensor
    /// nil when loaded only for its encoder (probes): the centroids are there, but not what they cluster.
    public let features: ClusteredFeatures?

    public var codebookSize: Int { centroids.size(0) }

    public init(centroids: Tensor, features: ClusteredFeatures?) {
        precondition(centroids.rank == 2 && centroids.size(0) >= 2 && centroids.size(1) == (features?.dimension ?? centroids.size(1)),
                     "centroids (K ≥ 2, \(features?.dimension ?? 0)) for these features, got \(centroids.shape)")
        _centroids = Key(wrappedValue: centroids.detached(), "centroids")
        self.features = features
        super.init()
    }

    public func labels(_ batch: FeatureBatch, for encoder: AudioEncoder) -> [Int32] {
        guard let features else { preconditionFailure("this k-means tokenizer was loaded without its features; it cannot label") }
        let (vectors, _) = features.vectors(batch)
        let (rows, count, dimension) = (vectors.size(0), vectors.size(1), vectors.size(2))
        let nearest = nearestRows(vectors.reshaped([rows * count, dimension]), in: centroids)
        switch features {
        case .cepstra:
            guard (encoder as? MaskableAudioEncoder)?.positionsAreTimeSteps == true else {
                preconditionFailure("per-frame cepstra label a frame encoder's positions, not \(type(of: encoder))'s")
            }
            let k = encoder.timeUnit, positions = (count + k - 1) / k
            return (0..<rows * positions).map { nearest[($0 / positions) * count + ($0 % positions) * k] }
        case .layer:
            return nearest
        }
    }
}
