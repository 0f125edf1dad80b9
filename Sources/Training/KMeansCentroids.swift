import AudioData
import Foundation
import Layers
import Objectives
import SafeTensors
import Tensors

/// HuBERT's centroid files: one tensor `centroids` (K, D) and metadata that says what was clustered
/// (`features`: cepstra, or layer with `layer` and `teacher`), so a recipe cannot pair them with other features.
public enum KMeansCentroids {
    public static let tensorName = "centroids"

    public static func write(_ centroids: Tensor, to url: URL, metadata: [String: String]) throws {
        var writer = SafeTensorsWriter(metadata: metadata)
        try writer.add(tensorName, shape: centroids.shape, floats: UnsafeBufferPointer(start: centroids.data, count: centroids.count))
        try writer.write(to: url)
    }

    /// Throws naming the file when it is not a centroid file.
    public static func read(_ url: URL) throws -> (centroids: Tensor, metadata: [String: String]) {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: url) } catch { throw TrainingError("\(url.path): cannot read centroids: \(error)") }
        guard file.names.contains(tensorName) else {
            throw TrainingError("\(url.path): no '\(tensorName)' tensor (a centroid file comes from pretrain kmeans)")
        }
        let (shape, values) = try file.floats(tensorName)
        guard shape.count == 2, shape[0] >= 2, shape[1] >= 1 else {
            throw TrainingError("\(url.path): centroids must be (K ≥ 2, D), got \(shape)")
        }
        return (Tensor(values, shape: shape), file.metadata)
    }

    /// The metadata that records what was clustered.
    public static func metadata(_ features: ClusteredFeatures, teacher: String?) -> [String: String] {
        switch features {
        case .cepstra(let count): return ["features": "cepstra", "count": "\(count)"]
        case .layer(_, let index): return ["features": "layer", "layer": "\(index)", "teacher": teacher ?? ""]
        }
    }

    /// Every valid vector of the utterances (cut into windows of at most `window` frames, each labelled alone, as
    /// training crops are), then at most `limit` of them drawn without replacement by `seed`: (N, D). `progress` gets
    /// (utterances done, utterances): a teacher's layer takes a forward pass per window.
    public static func vectors(_ utterances: [FeatureCorpus.Utterance], dimension: Int, features: ClusteredFeatures,
                               window: Int, limit: Int?, seed: UInt64,
                               progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) -> Tensor {
        var collected: [Float] = []
        for (index, utterance) in utterances.enumerated() {
            defer { progress(index + 1, utterances.count) }
            var start = 0
            while start < utterance.frames {
                let frames = min(window, utterance.frames - start)
                if case .layer(let teacher as AudioPatchEncoder, _) = features, frames < teacher.config.patchTime { break }
                let values = Array(utterance.values[(start * dimension)..<((start + frames) * dimension)])
                let batch = FeatureBatch(features: Tensor(values, shape: [1, frames, dimension]), lengths: [frames])
                let (vectors, valid) = features.vectors(batch)
                collected += UnsafeBufferPointer(start: vectors.data, count: valid[0] * vectors.size(2))
                start += frames
            }
        }
        let d = features.dimension, count = collected.count / d
        guard let limit, count > limit else { return Tensor(collected, shape: [count, d]) }
        var generator = RandomGenerator(seed: seed)
        var order = Array(0..<count)
        for slot in 0..<limit { order.swapAt(slot, slot + generator.nextInt(below: count - slot)) }
        var kept = [Float](repeating: 0, count: limit * d)
        for (slot, row) in order[0..<limit].enumerated() {
            for j in 0..<d { kept[slot * d + j] = collected[row * d + j] }
        }
        return Tensor(kept, shape: [limit, d])
    }
}
