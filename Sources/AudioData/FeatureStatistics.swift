import Foundation
import SafeTensors

/// Per-column (per mel bin) mean and variance over every frame of a corpus, accumulated one utterance at a time
/// (Chan et al.'s parallel update of Welford's algorithm, in Double), so the corpus never has to fit in memory.
public struct FeatureStatisticsAccumulator {
    public let dimension: Int
    public private(set) var frameCount = 0
    private var mean: [Double]
    /// Σ (x − mean)² per column.
    private var squaredDeviations: [Double]

    public init(dimension: Int) {
        self.dimension = dimension
        mean = [Double](repeating: 0, count: dimension)
        squaredDeviations = [Double](repeating: 0, count: dimension)
    }

    /// Adds every frame of `features`; throws when its dimension differs from the accumulator's.
    public mutating func add(_ features: FeatureMatrix) throws {
        guard features.dimension == dimension else {
            throw AudioError("features of dimension \(features.dimension) added to statistics of dimension \(dimension)")
        }
        guard features.frameCount > 0 else { return }
        var chunk = FeatureStatisticsAccumulator(dimension: dimension)
        chunk.frameCount = features.frameCount
        for f in 0..<features.frameCount {
            for c in 0..<dimension { chunk.mean[c] += Double(features[f, c]) }
        }
        for c in 0..<dimension { chunk.mean[c] /= Double(features.frameCount) }
        for f in 0..<features.frameCount {
            for c in 0..<dimension {
                let deviation = Double(features[f, c]) - chunk.mean[c]
                chunk.squaredDeviations[c] += deviation * deviation
            }
        }
        try merge(chunk)
    }

    /// Combines statistics of disjoint data (e.g. gathered by different threads).
    public mutating func merge(_ other: FeatureStatisticsAccumulator) throws {
        guard other.dimension == dimension else {
            throw AudioError("statistics of dimension \(other.dimension) merged into statistics of dimension \(dimension)")
        }
        guard other.frameCount > 0 else { return }
        let (n, m) = (Double(frameCount), Double(other.frameCount))
        let total = n + m
        for c in 0..<dimension {
            let delta = other.mean[c] - mean[c]
            mean[c] += delta * m / total
            squaredDeviations[c] += other.squaredDeviations[c] + delta * delta * n * m / total
        }
        frameCount += other.frameCount
    }

    /// The population mean and standard deviation; throws when no frame was added.
    public func normalization() throws -> FeatureNormalization {
        guard frameCount > 0 else { throw AudioError("no feature frames were accumulated; cannot compute mean/std") }
        let std = squaredDeviations.map { Float(($0 / Double(frameCount)).squareRoot()) }
        return FeatureNormalization(mean: mean.map { Float($0) }, std: std, frameCount: frameCount)
    }
}

/// (x − mean) / std per column, with the statistics measured on the training corpus; saved beside the model.
public struct FeatureNormalization: Equatable {
    public var mean: [Float]
    public var std: [Float]
    /// Frames the statistics were measured on.
    public var frameCount: Int
    /// A column whose std is below this (a constant bin) is only centred, not scaled up.
    public static let minimumStd: Float = 1e-5

    public init(mean: [Float], std: [Float], frameCount: Int) {
        precondition(mean.count == std.count, "mean and std have different lengths")
        self.mean = mean
        self.std = std
        self.frameCount = frameCount
    }

    public static let meanKey = "feature_mean", stdKey = "feature_std", frameCountKey = "feature_frame_count"

    /// Adds `feature_mean`, `feature_std` (F32, (dimension)) and `feature_frame_count` (I64, (1)) to a writer,
    /// e.g. the one that writes a model's weights.
    public func add(to writer: inout SafeTensorsWriter) throws {
        try writer.add(Self.meanKey, shape: [mean.count], floats: mean)
        try writer.add(Self.stdKey, shape: [std.count], floats: std)
        try writer.add(Self.frameCountKey, shape: [1], ints: [frameCount])
    }

    public func write(to url: URL, metadata: [String: String] = [:]) throws {
        var writer = SafeTensorsWriter(metadata: metadata)
        try add(to: &writer)
        try writer.write(to: url)
    }

    /// Reads the three tensors `add(to:)` writes; throws naming the file and the missing or inconsistent key.
    public init(from file: SafeTensorsFile) throws {
        for key in [Self.meanKey, Self.stdKey, Self.frameCountKey] where !file.names.contains(key) {
            throw AudioError("\(file.source): no tensor '\(key)' (feature normalisation statistics)")
        }
        let mean = try file.floats(Self.meanKey), std = try file.floats(Self.stdKey)
        let count = try file.ints(Self.frameCountKey)
        guard mean.shape.count == 1, std.shape == mean.shape, count.values.count == 1 else {
            throw AudioError("\(file.source): '\(Self.meanKey)' \(mean.shape), '\(Self.stdKey)' \(std.shape) and "
                + "'\(Self.frameCountKey)' \(count.shape) should be (D), (D) and (1)")
        }
        self.init(mean: mean.values, std: std.values, frameCount: count.values[0])
    }

    public init(contentsOf url: URL) throws {
        try self.init(from: SafeTensorsFile(contentsOf: url))
    }

    /// features: (T, D) → (T, D) normalised per column; throws when D differs.
    public func normalize(_ features: FeatureMatrix) throws -> FeatureMatrix {
        guard features.dimension == mean.count else {
            throw AudioError("features of dimension \(features.dimension) normalised with statistics of dimension \(mean.count)")
        }
        var out = features
        let scale = std.map { $0 < Self.minimumStd ? 1 : 1 / $0 }
        for f in 0..<features.frameCount {
            for c in 0..<features.dimension {
                out.values[f * features.dimension + c] = (features[f, c] - mean[c]) * scale[c]
            }
        }
        return out
    }
}
