import FileErrors
import Foundation
import SafeTensors

/// A prepared feature corpus in memory, normalised with its own train statistics.
public struct FeatureCorpus {
    /// One utterance's features: (frames, dimension), row-major.
    public struct Utterance {
        public var key: String
        public var frames: Int
        public var values: [Float]

        public init(key: String, frames: Int, values: [Float]) {
            self.key = key
            self.frames = frames
            self.values = values
        }
    }

    public var directory: URL
    public var info: FeatureCorpusInfo
    public var normalization: FeatureNormalization
    public var train: [Utterance]
    public var val: [Utterance]
    /// Each utterance's manifest fields by key (utterances.jsonl); empty for a corpus prepared without a manifest.
    public var metadata: [String: [String: String]] = [:]
    public var dimension: Int { info.dimension }
    /// The statistics file, copied into every checkpoint.
    public var normalizationURL: URL { directory.appendingPathComponent(info.normalization) }

    /// Reads corpus.json, the statistics and every shard; features are normalised as they load. Throws naming the
    /// file when the statistics are missing or of another dimension, or a shard holds a tensor of the wrong shape.
    public static func load(_ directory: URL) throws -> FeatureCorpus {
        let info = try FeatureCorpusInfo.read(directory: directory)
        let statisticsURL = directory.appendingPathComponent(info.normalization)
        guard FileManager.default.fileExists(atPath: statisticsURL.path) else {
            throw AudioError("\(statisticsURL.path): the corpus' normalisation statistics are missing "
                + "(prepare the corpus again with pretrain features prepare)")
        }
        let normalization = try FeatureNormalization(contentsOf: statisticsURL)
        guard normalization.mean.count == info.dimension else {
            throw AudioError("\(statisticsURL.path): statistics of dimension \(normalization.mean.count), but the corpus' "
                + "features have \(info.dimension)")
        }
        func read(_ split: FeatureCorpusInfo.Split) throws -> [Utterance] {
            var utterances: [Utterance] = []
            for shard in split.shards {
                let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent(shard))
                for name in file.names.sorted() {
                    let (shape, values) = try file.floats(name)
                    guard shape.count == 2, shape[1] == info.dimension, shape[0] > 0 else {
                        throw AudioError("\(file.source): '\(name)' has shape \(shape), expected (frames, \(info.dimension))")
                    }
                    let normalized = try normalization.normalize(FeatureMatrix(frameCount: shape[0], dimension: shape[1], values: values))
                    utterances.append(Utterance(key: name, frames: shape[0], values: normalized.values))
                }
            }
            return utterances
        }
        var corpus = FeatureCorpus(directory: directory, info: info, normalization: normalization,
                                   train: try read(info.train), val: try read(info.val))
        if let name = info.utterances { corpus.metadata = try readMetadata(directory.appendingPathComponent(name)) }
        return corpus
    }

    /// utterances.jsonl: key → manifest fields; a line that is not `{"key": string, "meta": {string: string}}` is an
    /// error naming the file and line.
    static func readMetadata(_ url: URL) throws -> [String: [String: String]] {
        guard let data = try? Data(contentsOf: url) else {
            throw AudioError("\(url.path): the corpus' utterance metadata is missing (prepare the corpus again with pretrain features prepare)")
        }
        var metadata: [String: [String: String]] = [:]
        for (number, line) in JSONLines.lines(data) {
            guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any], let key = object["key"] as? String,
                  let fields = object["meta"] as? [String: String] else {
                throw AudioError("\(url.path):\(number): expected {\"key\": string, \"meta\": {field: string}}")
            }
            metadata[key] = fields
        }
        return metadata
    }
}
