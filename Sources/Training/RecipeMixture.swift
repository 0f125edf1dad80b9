import Foundation

/// `data.mixture.<name>:` — one training source of a mixture: a prepared corpus and its share of the windows.
/// The name labels its token count (`tokens_seen/<name>`) and its val split (`val_loss/<name>`).
public struct MixtureSourceSection: RecipeSection {
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

    public init() {}

    public static let keys: [RecipeKey<MixtureSourceSection>] = [
        .init("corpus", \.corpus), .init("weight", \.weight), .init("subset_tokens", \.subsetTokens),
    ]

    public mutating func decoded(present: Set<String>, path: String) throws {
        guard present.contains("corpus") else { throw RecipeError("\(path).corpus: required (a prepared corpus directory)") }
    }
}

/// `data.replay:` — replay of the upstream corpus while training on new data (Ibrahim et al., 2024): a `fraction`
/// of the windows comes from `corpus`, the rest from `data.corpus` (or `data.mixture`, scaled down). Its val split
/// is evaluated as `val_loss/<name>` even at fraction 0, so that forgetting is measured by every run of a sweep
/// (`--set data.replay.fraction=0.05`).
public struct ReplaySection: RecipeSection {
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

    public init() {}

    public static let keys: [RecipeKey<ReplaySection>] = [
        .init("corpus", \.corpus), .init("fraction", \.fraction), .init("name", \.name), .init("subset_tokens", \.subsetTokens),
    ]

    public mutating func decoded(present: Set<String>, path: String) throws {
        guard present.contains("corpus") else { throw RecipeError("data.replay.corpus: required (the upstream prepared corpus directory)") }
    }
}

/// `data.phases[i]:` — one stage of a curriculum: the mixture weights used before step `until` (the last phase
/// may leave `until` out and run to the end; after a last `until`, `data.mixture`'s own weights apply).
/// A source not named in `weights` gets weight 0 in the phase.
public struct PhaseSection: RecipeSection {
    public var until: Int?
    public var weights: [String: Double] = [:]

    public init(until: Int? = nil, weights: [String: Double]) {
        self.until = until
        self.weights = weights
    }

    public init() {}

    public static let keys: [RecipeKey<PhaseSection>] = [.init("until", \.until), .init("weights", \.weights)]
}
