import Foundation

/// `data:` — where the tokens come from.
public struct DataSection: RecipeSection {
    public enum Sampling: String, CaseIterable {
        /// Windows at offsets drawn uniformly from all train tokens (seeded).
        case random
        /// Consecutive windows in shard order, wrapping around at the end (epochs).
        case sequential
    }

    /// A prepared corpus directory (`pretrain tokenize --out`): train and val shards, corpus.json. It gives the
    /// tokenizer, the vocabulary and the main validation split (`val_loss`); with `mixture` its train split is used
    /// only if a source names it. Default with a mixture: the first source's corpus (by name).
    public var corpus = "data/shakespeare"
    /// More validation sets by name: prepared corpus directories whose val shards are evaluated too.
    public var val: [String: String] = [:]
    public var sampling = Sampling.random
    /// Train on several sources by weight (see MixtureSourceSection); empty: on `corpus` alone.
    public var mixture: [String: MixtureSourceSection] = [:]
    /// Replay of an upstream corpus at a fixed fraction of the windows.
    public var replay: ReplaySection?
    /// Curriculum: mixture weights by step range, in order.
    public var phases: [PhaseSection] = []
    /// Skill-it's online mixture weights, from a skills graph (`pretrain skills graph`); nil: the static weights.
    public var skillIt: SkillItSection?
    /// Draw windows equally from the groups of train documents that share this field's value (a dotted path into
    /// the fields documents.jsonl keeps: `meta.era`): equal tokens per value. One corpus only.
    public var balanceBy: String?
    /// Audio: a prepared feature corpus (`pretrain features prepare IN --out DIR`); audio models train on its crops
    /// of model.context frames, normalised with its statistics.
    public var features: String?
    /// Audio, audio_waveform: 16 kHz speech (any rate is resampled) — a directory searched recursively, split by its
    /// manifest.jsonl when it has one (train → train; val, valid, validation, dev → val; the rest held out), else
    /// 5 % to val by a seeded hash of the path, as `pretrain features prepare` splits; crops of model.context samples.
    public var waveforms: String?
    /// Audio, with data.features: a feature corpus of per-frame targets for the same utterances (`pretrain features
    /// prepare IN --kind cqt`: MERT's constant-Q frames); each crop carries them after its features.
    public var targets: String?
    /// Text-to-speech, fastspeech: a synthesised corpus directory (`pretrain data synth-speech --subsets tts`): its
    /// tts utterances' phonemes and log-mel frames (train → train, dev → val).
    public var tts: String?

    public init() {}

    public static let keys: [RecipeKey<DataSection>] = [
        .init("corpus", \.corpus), .init("val", \.val), .init("sampling", choice: \.sampling), .init("mixture", \.mixture),
        .init("replay", \.replay), .init("phases", \.phases), .init("skill_it", \.skillIt), .init("balance_by", \.balanceBy), .init("features", \.features),
        .init("waveforms", \.waveforms), .init("targets", \.targets), .init("tts", \.tts),
    ]

    /// Without `corpus`, a mixture's first source (by name) gives the tokenizer and the main val split.
    public mutating func decoded(present: Set<String>, path: String) throws {
        if !present.contains("corpus"), let first = mixture.sorted(by: { $0.key < $1.key }).first { corpus = first.value.corpus }
    }
}
