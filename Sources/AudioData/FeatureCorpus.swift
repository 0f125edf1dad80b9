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
    /// Values a frame holds after its features: a target corpus' (`appendingTargets`); 0 for a plain corpus.
    public var targetDimension = 0
    /// Values a frame holds: the features' bins and any targets after them.
    public var dimension: Int { info.dimension + targetDimension }
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

extension FeatureCorpus {
    /// This corpus with every frame followed by the same frame of `targets` (normalised by the targets' own
    /// statistics): (frames, F + Ft) rows. The checkpoint files stay this corpus' (the model reads F bins). Throws
    /// naming the target corpus when it lacks an utterance of this one or holds another number of frames for it.
    public func appendingTargets(_ targets: FeatureCorpus) throws -> FeatureCorpus {
        guard targetDimension == 0, targets.targetDimension == 0 else { throw AudioError("targets cannot be appended twice") }
        let (own, extra) = (info.dimension, targets.info.dimension)
        func join(_ utterances: [Utterance], _ other: [Utterance], split: String) throws -> [Utterance] {
            let byKey = Dictionary(other.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
            return try utterances.map { utterance in
                guard let target = byKey[utterance.key] else {
                    throw AudioError("\(targets.directory.path): no \(split) utterance '\(utterance.key)' (the targets must come "
                        + "from the same audio with the same split as \(directory.path))")
                }
                guard target.frames == utterance.frames else {
                    throw AudioError("\(targets.directory.path): '\(utterance.key)' has \(target.frames) frames, the features "
                        + "\(utterance.frames) (prepare both with the same frame options)")
                }
                var values = [Float](repeating: 0, count: utterance.frames * (own + extra))
                for t in 0..<utterance.frames {
                    for j in 0..<own { values[t * (own + extra) + j] = utterance.values[t * own + j] }
                    for j in 0..<extra { values[t * (own + extra) + own + j] = target.values[t * extra + j] }
                }
                return Utterance(key: utterance.key, frames: utterance.frames, values: values)
            }
        }
        var joined = self
        joined.train = try join(train, targets.train, split: "train")
        joined.val = try join(val, targets.val, split: "val")
        joined.targetDimension = extra
        return joined
    }
}
