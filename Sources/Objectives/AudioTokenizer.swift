import Foundation
import Layers
import Tensors

/// Turns a batch of feature crops into one discrete label per encoder position: the targets of masked label
/// prediction (BEST-RQ's random-projection quantiser, HuBERT's k-means, BEATs' tokenizers). Its tensors, if any,
/// are frozen parameters of the model that predicts its labels, so checkpoints carry them.
public protocol AudioTokenizer: Module {
    /// Labels are in 0..<codebookSize.
    var codebookSize: Int { get }
    /// batch: (B, T, F) normalised crops, unmasked → labels (B·N) row-major, one per position of `encoder`
    /// (N = ⌈T/k⌉ stacked frames, or the patch count). Labels of padded positions are computed but never predicted.
    func labels(_ batch: FeatureBatch, for encoder: AudioEncoder) -> [Int32]
}

/// Codebook usage: exp of the entropy of the labels' histogram (Baevski et al. 2020, §3.2 use it for the
/// codebook), from 1 (one code) to the number of distinct labels (uniform use).
public func labelPerplexity(_ labels: [Int32], codebookSize: Int) -> Double {
    guard !labels.isEmpty else { return 0 }
    var counts = [Int](repeating: 0, count: codebookSize)
    for label in labels { counts[Int(label)] += 1 }
    var entropy = 0.0
    for count in counts where count > 0 {
        let p = Double(count) / Double(labels.count)
        entropy -= p * log(p)
    }
    return exp(entropy)
}

/// Index of the nearest row of `codes` (K, D) for each row of `vectors` (N, D) by squared L2 distance:
/// argmin_k ‖c_k‖² − 2 x·c_k (‖x‖² is the same for every k). Ties go to the lower index.
public func nearestRows(_ vectors: Tensor, in codes: Tensor) -> [Int32] {
    precondition(vectors.rank == 2 && codes.rank == 2 && vectors.size(1) == codes.size(1),
                 "nearest rows of (N, D) vectors in (K, D) codes, got \(vectors.shape) and \(codes.shape)")
    let (n, k, d) = (vectors.size(0), codes.size(0), codes.size(1))
    let products = noGrad { matmul(vectors, codes, transposeB: true) }                          // (N, K)
    var squaredNorms = [Float](repeating: 0, count: k)
    for row in 0..<k {
        let c = codes.data + row * d
        var sum: Float = 0
        for j in 0..<d { sum += c[j] * c[j] }
        squaredNorms[row] = sum
    }
    var result = [Int32](repeating: 0, count: n)
    let p = products.data
    result.withUnsafeMutableBufferPointer { out in
        let labels = out.baseAddress!
        squaredNorms.withUnsafeBufferPointer { norms in
            parallelFor(n, grain: 64) { range in
                for i in range {
                    var best = 0, bestDistance = Float.infinity
                    for j in 0..<k {
                        let distance = norms[j] - 2 * p[i * k + j]
                        if distance < bestDistance { bestDistance = distance; best = j }
                    }
                    labels[i] = Int32(best)
                }
            }
        }
    }
    return result
}
