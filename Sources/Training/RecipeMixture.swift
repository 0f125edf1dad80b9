import Foundation

/// `data.mixture.<name>:` — one training source of a mixture: a prepared corpus and its share of the windows.
/// The name labels its token count (`tokens_seen/<name>`) and its val split (`val_loss/<name>`).
public struct MixtureSourceSection: Codable, Equatable {
    /// A prepared corpus directory (`pretrain tokenize --out`) tokenized with the same tokenizer as `data.corpus`.
    public var corpus = ""
    /// Relative share of the windows (weights are normalised over the sources of a phase).
    public var weight = 1.0
    /// Train on only the first this many train tokens, cycling epochs over them (a multi-epoch subset).
    public var subsetTokens: Int?

    public init(corpus: String = "", weight: Double = 1, subsetTokens: Int? = nil) {
        self.corpus = corpus
        self.weight = weight
        self.subsetTokens = subsetTokens
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case corpus, weight, subsetTokens = "subset_tokens" }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let corpus = try container.decodeIfPresent(String.self, forKey: .corpus) else {
            throw RecipeError("\(recipePath(decoder.codingPath)).corpus: required (a prepared corpus directory)")
        }
        self.corpus = corpus
        weight = try container.decodeIfPresent(Double.self, forKey: .weight) ?? 1
        subsetTokens = try container.decodeIfPresent(Int.self, forKey: .subsetTokens)
    }
}

/// `data.replay:` — replay of the upstream corpus while training on new data (Ibrahim et al., 2024): a `fraction`
/// of the windows comes from `corpus`, the rest from `data.corpus` (or `data.mixture`, scaled down). Its val split
/// is evaluated as `val_loss/<name>` even at fraction 0, so that forgetting is measured by every run of a sweep
/// (`--set data.replay.fraction=0.05`).
public struct ReplaySection: Codable, Equatable {
    public var corpus = ""
    public var fraction = 0.0
    public var name = "upstream"
    public var subsetTokens: Int?

    public init(corpus: String = "", fraction: Double = 0, name: String = "upstream", subsetTokens: Int? = nil) {
        self.corpus = corpus
        self.fraction = fraction
        self.name = name
        self.subsetTokens = subsetTokens
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case corpus, fraction, name, subsetTokens = "subset_tokens" }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let corpus = try container.decodeIfPresent(String.self, forKey: .corpus) else {
            throw RecipeError("data.replay.corpus: required (the upstream prepared corpus directory)")
        }
        self.corpus = corpus
        fraction = try container.decodeIfPresent(Double.self, forKey: .fraction) ?? 0
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? "upstream"
        subsetTokens = try container.decodeIfPresent(Int.self, forKey: .subsetTokens)
    }
}

/// `data.phases[i]:` — one stage of a curriculum: the mixture weights used before step `until` (the last phase
/// may leave `until` out and run to the end; after a last `until`, `data.mixture`'s own weights apply).
/// A source not named in `weights` gets weight 0 in the phase.
public struct PhaseSection: Codable, Equatable {
    public var until: Int?
    public var weights: [String: Double] = [:]

    public init(until: Int? = nil, weights: [String: Double]) {
        self.until = until
        self.weights = weights
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case until, weights }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        until = try container.decodeIfPresent(Int.self, forKey: .until)
        weights = try container.decodeIfPresent([String: Double].self, forKey: .weights) ?? [:]
    }
}
