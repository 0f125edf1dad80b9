import Foundation

/// The training sources of a run and each one's share of the windows at every step, resolved from `data.mixture`,
/// `data.replay` and `data.phases`. A run with none of them (or only a replay at fraction 0) has no plan: it
/// trains on `data.corpus` alone, exactly as before mixtures existed.
public struct MixturePlan: Equatable {
    public struct Source: Equatable {
        public var name: String
        public var corpus: String
        public var subsetTokens: Int?
    }

    public struct Phase: Equatable {
        /// The phase covers steps before `until` (nil: to the end of training).
        public var until: Int?
        /// One weight per source (in `sources` order), summing to 1.
        public var weights: [Double]
    }

    /// Mixture sources sorted by name, then the replay source.
    public let sources: [Source]
    public let phases: [Phase]

    /// The name `data.corpus` goes by when it is a source (a replay without a mixture).
    public static let mainSourceName = "corpus"

    /// nil when the run trains on `data.corpus` alone. Assumes `data.mixtureProblems()` is empty.
    public init?(_ data: DataSection) {
        let replayFraction = data.replay?.fraction ?? 0
        guard !data.mixture.isEmpty || replayFraction > 0 else { return nil }
        let mixture = data.mixture.isEmpty
            ? [Self.mainSourceName: MixtureSourceSection(corpus: data.corpus)]
            : data.mixture
        let names = mixture.keys.sorted()
        var sources = names.map { Source(name: $0, corpus: mixture[$0]!.corpus, subsetTokens: mixture[$0]!.subsetTokens) }
        var stages = data.phases.map { (until: $0.until, weights: $0.weights) }
        if stages.last.map({ $0.until != nil }) ?? true {
            stages.append((nil, mixture.mapValues(\.weight)))
        }
        var phases = stages.map { stage -> Phase in
            let raw = names.map { stage.weights[$0] ?? 0 }
            let total = raw.reduce(0, +)
            return Phase(until: stage.until, weights: raw.map { $0 / total * (1 - replayFraction) })
        }
        if let replay = data.replay, replayFraction > 0 {
            sources.append(Source(name: replay.name, corpus: replay.corpus, subsetTokens: replay.subsetTokens))
            for index in phases.indices { phases[index].weights.append(replayFraction) }
        }
        self.sources = sources
        self.phases = phases
    }

    /// The phase that covers `step` (0-based update index).
    public func phaseIndex(at step: Int) -> Int {
        phases.firstIndex { $0.until.map { step < $0 } ?? true } ?? phases.count - 1
    }

    public func weights(at step: Int) -> [Double] { phases[phaseIndex(at: step)].weights }

    /// Steps at which the weights change: the `until` of every phase but a last open one.
    public var boundaries: [Int] { phases.compactMap(\.until) }
}

extension DataSection {
    /// Named prepared corpora whose val splits are evaluated besides `data.corpus`' own: every mixture source and
    /// the replay corpus (even at fraction 0, to measure forgetting), by source name.
    public var sourceValidationCorpora: [(name: String, corpus: String)] {
        mixture.sorted { $0.key < $1.key }.map { ($0.key, $0.value.corpus) }
            + (replay.map { [($0.name, $0.corpus)] } ?? [])
    }

    /// What is wrong with the mixture, replay and phase settings, one message each.
    func mixtureProblems() -> [String] {
        var problems: [String] = []
        func checkName(_ name: String, _ path: String) {
            if name.isEmpty || name.contains("/") || name == "val" {
                problems.append("\(path): a source name must be non-empty, without '/', and not 'val'")
            } else if val[name] != nil {
                problems.append("\(path): the name '\(name)' is also a data.val set; names must be unique")
            }
        }
        for (name, source) in mixture.sorted(by: { $0.key < $1.key }) {
            checkName(name, "data.mixture.\(name)")
            if source.corpus.isEmpty { problems.append("data.mixture.\(name).corpus must name a prepared corpus") }
            if !(source.weight >= 0 && source.weight.isFinite) {
                problems.append("data.mixture.\(name).weight must be a finite number ≥ 0, got \(source.weight)")
            }
            if let subset = source.subsetTokens, subset < 1 {
                problems.append("data.mixture.\(name).subset_tokens must be ≥ 1, got \(subset)")
            }
        }
        if !mixture.isEmpty && !(mixture.values.map(\.weight).reduce(0, +) > 0) {
            problems.append("data.mixture: the weights sum to 0; give some source a positive weight")
        }
        if let replay {
            checkName(replay.name, "data.replay.name")
            if mixture[replay.name] != nil || (mixture.isEmpty && replay.name == MixturePlan.mainSourceName) {
                problems.append("data.replay.name '\(replay.name)' is also a training source's name")
            }
            if replay.corpus.isEmpty { problems.append("data.replay.corpus must name a prepared corpus") }
            if !(replay.fraction >= 0 && replay.fraction < 1) {
                problems.append("data.replay.fraction must be in [0, 1), got \(replay.fraction)")
            }
            if let subset = replay.subsetTokens, subset < 1 {
                problems.append("data.replay.subset_tokens must be ≥ 1, got \(subset)")
            }
        }
        if !phases.isEmpty && mixture.isEmpty {
            problems.append("data.phases needs data.mixture (the sources whose weights the phases set)")
        }
        var previous = 0
        for (index, phase) in phases.enumerated() where !mixture.isEmpty {
            let path = "data.phases[\(index)]"
            if let until = phase.until {
                if until <= previous { problems.append("\(path).until must be > \(previous), got \(until)") }
                previous = until
            } else if index != phases.count - 1 {
                problems.append("\(path).until is required (only the last phase may run to the end)")
            }
            for (name, weight) in phase.weights.sorted(by: { $0.key < $1.key }) {
                if mixture[name] == nil {
                    problems.append("\(path).weights.\(name): no such source in data.mixture "
                        + "(sources: \(mixture.keys.sorted().joined(separator: ", ")))")
                } else if !(weight >= 0 && weight.isFinite) {
                    problems.append("\(path).weights.\(name) must be a finite number ≥ 0, got \(weight)")
                }
            }
            if !(phase.weights.values.reduce(0, +) > 0) {
                problems.append("\(path).weights sum to 0; give some source a positive weight")
            }
        }
        if let skillIt { problems += skillIt.problems(self) }
        if let balanceBy {
            if balanceBy.isEmpty { problems.append("data.balance_by must name a field, e.g. meta.era") }
            if !mixture.isEmpty || replay != nil {
                problems.append("data.balance_by balances one corpus by a document field; with data.mixture or data.replay, weight the sources instead")
            }
        }
        return problems
    }
}
