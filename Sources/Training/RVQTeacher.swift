import AudioData
import Foundation
import Objectives
import SafeTensors
import Tensors

/// MERT's acoustic teacher files (`pretrain rvq`): a residual vector quantiser of a feature corpus' stacked,
/// normalised frames, with the corpus' per-bin statistics (the in-batch mixture undoes the normalisation).
/// Tensors: codebooks (N, K, k·F), mean (F), std (F, the scale the corpus divides by); metadata: frame_stack,
/// features (the corpus), errors (the reconstruction MSE after each codebook).
public enum RVQTeacher {
    public struct Options {
        public var codebooks = 4
        public var entries = 64
        public var frameStack = 2
        /// Stacked frames drawn for fitting (all when fewer).
        public var limit = 200_000
        public var iterations = 200
        public var seed: UInt64 = 0
        public init() {}
    }

    public struct File {
        public var quantizer: ResidualVectorQuantizer
        public var mean: Tensor
        public var std: Tensor
        public var frameStack: Int
        public var metadata: [String: String]
    }

    /// Fits the quantiser to the train split of the corpus at `corpus`; `progress` gets (codebook, updates done, updates).
    public static func fit(corpus url: URL, options: Options,
                           progress: (_ codebook: Int, _ done: Int, _ total: Int) -> Void = { _, _, _ in }) throws -> File {
        guard options.codebooks >= 1, options.entries >= 2, options.frameStack >= 1, options.limit >= options.entries else {
            throw TrainingError("pretrain rvq needs ≥ 1 codebook, ≥ 2 entries, frame stack ≥ 1 and at least as many frames as entries")
        }
        let corpus: FeatureCorpus
        do { corpus = try FeatureCorpus.load(url) } catch let error as AudioError { throw TrainingError(error.message) }
        let (f, k) = (corpus.info.dimension, options.frameStack)
        var stacked: [Float] = []
        for utterance in corpus.train where utterance.frames >= k {
            stacked += utterance.values[0..<(utterance.frames / k * k * f)]
        }
        let count = stacked.count / (k * f)
        var generator = RandomGenerator(seed: options.seed)
        var order = Array(0..<count)
        let kept = min(count, options.limit)
        for slot in 0..<kept { order.swapAt(slot, slot + generator.nextInt(below: count - slot)) }
        guard kept >= options.entries else {
            throw TrainingError("\(url.path): \(kept) stacked frames are fewer than the \(options.entries) entries of a codebook")
        }
        var vectors = [Float](repeating: 0, count: kept * k * f)
        for (slot, row) in order[0..<kept].enumerated() {
            for j in 0..<(k * f) { vectors[slot * k * f + j] = stacked[row * k * f + j] }
        }
        let points = Tensor(vectors, shape: [kept, k * f])
        var config = KMeansConfig(k: options.entries)
        config.iterations = options.iterations
        config.seed = options.seed
        let quantizer = ResidualVectorQuantizer.fit(points, count: options.codebooks, config: config, progress: progress)
        let errors = quantizer.encode(points).errors
        let scale = corpus.normalization.std.map { $0 < FeatureNormalization.minimumStd ? 1 : $0 }
        return File(quantizer: quantizer, mean: Tensor(corpus.normalization.mean, shape: [f]), std: Tensor(scale, shape: [f]),
                    frameStack: k, metadata: ["frame_stack": "\(k)", "features": url.path,
                                              "errors": errors.map { String(format: "%.4f", $0) }.joined(separator: ",")])
    }

    public static func write(_ file: File, to url: URL) throws {
        var writer = SafeTensorsWriter(metadata: file.metadata)
        for (name, tensor) in [("codebooks", file.quantizer.codebooks), ("mean", file.mean), ("std", file.std)] {
            try writer.add(name, shape: tensor.shape, floats: UnsafeBufferPointer(start: tensor.data, count: tensor.count))
        }
        try writer.write(to: url)
    }

    /// Throws naming the file when it is not an RVQ teacher file.
    public static func read(_ url: URL) throws -> File {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: url) } catch { throw TrainingError("\(url.path): cannot read the RVQ teacher: \(error)") }
        guard let stack = file.metadata["frame_stack"].flatMap(Int.init), stack >= 1,
              Set(["codebooks", "mean", "std"]).isSubset(of: Set(file.names)) else {
            throw TrainingError("\(url.path): not an RVQ teacher (codebooks, mean, std and frame_stack come from pretrain rvq)")
        }
        let (codebooks, mean, std) = (try file.floats("codebooks"), try file.floats("mean"), try file.floats("std"))
        guard codebooks.shape.count == 3, codebooks.shape[0] >= 1, codebooks.shape[1] >= 2, mean.shape.count == 1,
              std.shape == mean.shape, codebooks.shape[2] == stack * mean.shape[0] else {
            throw TrainingError("\(url.path): codebooks \(codebooks.shape) do not quantise \(stack) stacked frames of \(mean.shape) bins")
        }
        return File(quantizer: ResidualVectorQuantizer(codebooks: Tensor(codebooks.values, shape: codebooks.shape)),
                    mean: Tensor(mean.values, shape: mean.shape), std: Tensor(std.values, shape: std.shape), frameStack: stack,
                    metadata: file.metadata)
    }
}
