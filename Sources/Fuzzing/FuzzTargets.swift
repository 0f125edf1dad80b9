/// Every parser a user can feed, by the name `pretrain fuzz NAME` takes.
public enum FuzzTargets {
    public static let all: [FuzzTarget] = [
        RecipeFuzzing.target, TokenizerFuzzing.target, CorpusFuzzing.target, ShardFuzzing.target,
        SafeTensorsFuzzing.target, AudioFuzzing.wav, AudioFuzzing.flac, ManifestFuzzing.target, JSONLFuzzing.target,
        CurationFuzzing.target,
    ]

    public static var names: [String] { all.map(\.name) }

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}
