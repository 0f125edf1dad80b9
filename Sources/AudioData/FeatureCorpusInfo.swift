import Foundation

/// corpus.json of a prepared feature corpus (`pretrain features prepare`): how the features were computed, which
/// utterances went to which split, and where the shards and the normalisation statistics are.
public struct FeatureCorpusInfo: Codable, Equatable {
    public struct Split: Codable, Equatable {
        public var utterances: Int
        public var frames: Int
        /// Shard files (safetensors, one (frames, dimension) F32 tensor per utterance keyed by its relative path).
        public var shards: [String]

        public init(utterances: Int = 0, frames: Int = 0, shards: [String] = []) {
            self.utterances = utterances
            self.frames = frames
            self.shards = shards
        }
    }

    public var formatVersion = 1
    /// "fbank".
    public var features: String
    public var dimension: Int
    public var options: FbankOptions
    public var train: Split
    public var val: Split
    /// "manifest" (the `split` field of IN/manifest.jsonl) or "hash" (a seeded hash of the utterance key).
    public var splitSource: String
    /// Hash split only: the fraction sent to val and the seed.
    public var valFraction: Double?
    public var splitSeed: UInt64?
    /// Utterances a manifest put in other splits (e.g. test), left out of the corpus.
    public var heldOut: Int
    /// Files that could not be decoded, or held bad audio under --skip-bad-audio (named in `skippedFiles`).
    public var skipped: Int
    public var skippedFiles: [String]
    /// With --skip-bad-audio: how many of the skipped files held bad audio (nil: bad audio was an error).
    public var skippedBadAudio: Int?
    /// The per-bin mean/std of the train split (`FeatureNormalization`), relative to the corpus directory.
    public var normalization: String
    /// utterances.jsonl (each utterance's manifest fields), relative to the corpus directory; nil when the corpus
    /// was prepared without a manifest.
    public var utterances: String?
    /// `--where`: the manifest filters the corpus was made with (space-separated), and how many train/val utterances
    /// they left out (with `--max-per-value`, those past the cap too); nil without them.
    public var filter: String?
    public var maxPerValue: Int?
    public var filteredOut: Int?

    public static let fileName = "corpus.json"
    public static let normalizationFile = "normalization.safetensors"
    public static let utterancesFile = "utterances.jsonl"

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", features, dimension, options, train, val, splitSource = "split_source"
        case valFraction = "val_fraction", splitSeed = "split_seed", heldOut = "held_out", skipped
        case skippedFiles = "skipped_files", skippedBadAudio = "skipped_bad_audio", normalization, utterances
        case filter, maxPerValue = "max_per_value", filteredOut = "filtered_out"
    }

    /// Reads DIR/corpus.json; throws naming the file when it is missing or malformed.
    public static func read(directory: URL) throws -> FeatureCorpusInfo {
        let url = directory.appendingPathComponent(fileName)
        guard let data = try? Data(contentsOf: url) else {
            throw AudioError("\(url.path): no feature corpus here (make one with: pretrain features prepare IN --out \(directory.path))")
        }
        do {
            return try JSONDecoder().decode(FeatureCorpusInfo.self, from: data)
        } catch {
            throw AudioError("\(url.path): not a feature corpus description: \(error)")
        }
    }

    public func write(directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: directory.appendingPathComponent(Self.fileName), options: .atomic)
    }
}
