import AudioData
import Foundation

/// The tokens a run trains and evaluates on, in memory.
public struct TrainingCorpus {
    /// A held-out token set with what bits per byte needs.
    public struct ValidationSet {
        public var name: String
        public var shards: [[Int32]]
        /// UTF-8 bytes of text per token (val_bytes / val_tokens of corpus.json); nil when unknown.
        public var bytesPerToken: Double?

        public init(name: String, shards: [[Int32]], bytesPerToken: Double?) {
            self.name = name
            self.shards = shards
            self.bytesPerToken = bytesPerToken
        }

        public var tokenCount: Int { shards.reduce(0) { $0 + $1.count } }
    }

    /// A training source of a mixture: its train shards (cut to its subset) under its name.
    public struct TrainSource {
        public var name: String
        public var shards: [[Int32]]

        public init(name: String, shards: [[Int32]]) {
            self.name = name
            self.shards = shards
        }

        public var tokenCount: Int { shards.reduce(0) { $0 + $1.count } }
    }

    /// The train tokens of a single-corpus run (empty when the run has a mixture).
    public var trainShards: [[Int32]]
    /// A mixture's sources in `MixturePlan` order; empty for a single-corpus run.
    public var sources: [TrainSource]
    /// `data.balance_by`: the train documents grouped by the field's value (sorted by value), as token ranges of the
    /// train stream; empty otherwise.
    public var groups: [DocumentGroup] = []

    public struct DocumentGroup: Equatable {
        public var value: String
        public var ranges: [Range<Int>]
        public init(value: String, ranges: [Range<Int>]) { (self.value, self.ranges) = (value, ranges) }
    }
    /// Validation sets reported under a second name without being evaluated twice: a mixture source whose corpus
    /// is `data.corpus` (or another source's) has its val loss copied, name → the name it is evaluated under.
    public var validationAliases: [String: String]
    /// The corpus' own validation split (metrics `val_loss`, `val_bpb`).
    public var validation: ValidationSet
    /// More validation sets by name (metrics `val_loss/<name>`).
    public var namedValidation: [ValidationSet]
    public var vocabularySize: Int
    /// The corpus' tokenizer.json, copied into every checkpoint.
    public var tokenizerURL: URL?
    /// Audio runs: the feature corpus (normalised crops come from it; its statistics go into every checkpoint).
    /// The token fields are empty then.
    public var features: FeatureCorpus?
    /// Waveform runs (wav2vec 2.0): the normalised 16 kHz waveforms, cropped as features of one value per sample.
    public var waveforms: WaveformCorpus?
    /// Text-to-speech runs: phonemes and log-mel frames of each utterance.
    public var speech: TTSCorpus?

    /// A feature corpus for an audio run.
    public init(features: FeatureCorpus) {
        self.init(trainShards: [], validation: ValidationSet(name: "val", shards: [], bytesPerToken: nil), vocabularySize: 0)
        self.features = features
    }

    /// Waveforms for a waveform run.
    public init(waveforms: WaveformCorpus) {
        self.init(trainShards: [], validation: ValidationSet(name: "val", shards: [], bytesPerToken: nil), vocabularySize: 0)
        self.waveforms = waveforms
    }

    /// Phonemes and frames for a text-to-speech run.
    public init(speech: TTSCorpus) {
        self.init(trainShards: [], validation: ValidationSet(name: "val", shards: [], bytesPerToken: nil), vocabularySize: 0)
        self.speech = speech
    }

    /// An audio run's utterances as crops are cut from them: feature frames of `dimension` bins, or samples (1).
    public var audioUtterances: (train: [FeatureCorpus.Utterance], val: [FeatureCorpus.Utterance], dimension: Int)? {
        if let features { return (features.train, features.val, features.dimension) }
        if let waveforms { return (waveforms.train, waveforms.val, 1) }
        return nil
    }

    public init(trainShards: [[Int32]], validation: ValidationSet, namedValidation: [ValidationSet] = [],
                vocabularySize: Int, tokenizerURL: URL? = nil, sources: [TrainSource] = [],
                validationAliases: [String: String] = [:]) {
        self.trainShards = trainShards
        self.sources = sources
        self.validationAliases = validationAliases
        self.validation = validation
        self.namedValidation = namedValidation
        self.vocabularySize = vocabularySize
        self.tokenizerURL = tokenizerURL
    }

    /// Train tokens of the corpus, or of every mixture source.
    /// The val split evaluated as `val_loss/<name>`: a named set, or the main one when `name` is its alias.
    public func validationSet(named name: String) -> ValidationSet? {
        namedValidation.first { $0.name == name } ?? (validationAliases[name] == "val" ? validation : nil)
    }

    public var trainTokenCount: Int { trainShards.reduce(0) { $0 + $1.count } + sources.reduce(0) { $0 + $1.tokenCount } }

    /// The largest token id anywhere (to check it against the model's vocabulary).
    func largestTokenID() -> Int32 {
        var largest: Int32 = -1
        for shard in trainShards + sources.flatMap(\.shards) + validation.shards + namedValidation.flatMap(\.shards) {
            for token in shard where token > largest { largest = token }
        }
        return largest
    }
}
