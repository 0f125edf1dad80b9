import Foundation
import Tensors

/// `data.skill_it:` — Skill-it's online mixture (Chen et al. 2023, "Skill-it! A data-driven skills framework for
/// understanding and training language models", Algorithm 1). The mixture's sources are the training skills; every
/// `every` steps the val loss of each evaluation skill (`targets`, default every source) is measured on the first
/// `eval_batches` windows of its val split, and the sources' weights become
///
///     p_i ∝ exp(η · Σ_{the last `window` rounds} Σ_j A_ij · L_j)
///
/// with A the skills graph (`pretrain skills graph`: A_ij, how much training on skill i lowers skill j's val loss):
/// a source is sampled more while the skills it helps are still poorly learned.
public struct SkillItSection: RecipeSection {
    /// The skills graph: a JSON file written by `pretrain skills graph`, its skills the mixture's sources.
    public var graph = ""
    /// η of the exponentiated update.
    public var eta = 0.5
    /// Steps between weight updates (the paper's rounds); the first is at step 0.
    public var every = 50
    /// Rounds of losses summed into the weights (the paper's w).
    public var window = 3
    /// Val windows (micro-batches) per evaluation skill and round.
    public var evalBatches = 4
    /// The evaluation skills (mixture source names); empty: every source.
    public var targets: [String] = []

    public init() {}

    public static let keys: [RecipeKey<SkillItSection>] = [
        .init("graph", \.graph), .init("eta", \.eta), .init("every", \.every), .init("window", \.window),
        .init("eval_batches", \.evalBatches), .init("targets", \.targets),
    ]

    public mutating func decoded(present: Set<String>, path: String) throws {
        guard present.contains("graph") else {
            throw RecipeError("\(path).graph: required (a skills graph written by `pretrain skills graph`)", keyPath: "\(path).graph")
        }
    }

    func problems(_ data: DataSection) -> [String] {
        let key = "data.skill_it"
        var problems: [String] = []
        if data.mixture.isEmpty { problems.append("\(key) needs data.mixture: its sources are the skills") }
        if !data.phases.isEmpty { problems.append("\(key) sets the mixture weights itself: remove data.phases") }
        if data.replay != nil { problems.append("\(key) cannot be combined with data.replay (make the upstream corpus a source)") }
        if !(eta > 0 && eta.isFinite) { problems.append("\(key).eta must be > 0, got \(eta)") }
        if every < 1 { problems.append("\(key).every must be ≥ 1, got \(every)") }
        if window < 1 { problems.append("\(key).window must be ≥ 1, got \(window)") }
        if evalBatches < 1 { problems.append("\(key).eval_batches must be ≥ 1, got \(evalBatches)") }
        for target in targets where data.mixture[target] == nil {
            problems.append("\(key).targets: '\(target)' is not a source of data.mixture "
                + "(sources: \(data.mixture.keys.sorted().joined(separator: ", ")))")
        }
        return problems
    }
}

/// Where a Skill-it mixture is: the evaluation skills' losses of the last rounds and the weights they gave. Saved in
/// each checkpoint with the mixture's streams, so a resume continues the same weights.
public struct SkillItState: Codable, Equatable {
    /// Per round (oldest first, at most `window`): each evaluation skill's val loss.
    public var losses: [[Double]]
    /// The sources' weights now (plan order), summing to 1.
    public var weights: [Double]
}

/// The online rule over a fixed graph; `evaluate` is asked for the evaluation skills' losses at each round.
public struct SkillItRule {
    public let settings: SkillItSection
    /// A[i][j]: training source i (plan order) against evaluation skill j (`evaluationSkills` order).
    public let matrix: [[Double]]
    public let evaluationSkills: [String]
    public private(set) var state: SkillItState

    /// `graph`'s rows reordered to `sources` (plan order); its columns to the targets. Throws when the graph's skills
    /// are not the mixture's sources.
    public init(_ settings: SkillItSection, graph: SkillsGraph, sources: [String], graphFile: String) throws {
        guard Set(graph.skills) == Set(sources) && graph.skills.count == sources.count else {
            throw TrainingError("\(graphFile): the graph's skills (\(graph.skills.joined(separator: ", "))) are not the "
                + "sources of data.mixture (\(sources.joined(separator: ", ")))")
        }
        self.settings = settings
        let evaluated = settings.targets.isEmpty ? sources : settings.targets
        let row = Dictionary(uniqueKeysWithValues: graph.skills.enumerated().map { ($1, $0) })
        matrix = sources.map { source in evaluated.map { graph.matrix[row[source]!][row[$0]!] } }
        evaluationSkills = evaluated
        state = SkillItState(losses: [], weights: Array(repeating: 1 / Double(sources.count), count: sources.count))
    }

    /// Whether update `step` starts a round.
    public func isRound(_ step: Int) -> Bool { step % settings.every == 0 }

    /// Adds a round's losses (one per evaluation skill) and recomputes the weights.
    public mutating func observe(_ losses: [Double]) {
        precondition(losses.count == evaluationSkills.count, "one loss per evaluation skill")
        state.losses = Array((state.losses + [losses]).suffix(settings.window))
        state.weights = Self.weights(matrix: matrix, losses: state.losses, eta: settings.eta)
    }

    /// p_i ∝ exp(η Σ_rounds Σ_j A_ij L_j), computed as a softmax (the largest exponent subtracted first).
    public static func weights(matrix: [[Double]], losses: [[Double]], eta: Double) -> [Double] {
        let exponents = matrix.map { row in
            eta * losses.reduce(0.0) { sum, round in sum + zip(row, round).reduce(0.0) { $0 + $1.0 * $1.1 } }
        }
        let largest = exponents.max() ?? 0
        let unnormalised = exponents.map { exp($0 - largest) }
        let total = unnormalised.reduce(0, +)
        return unnormalised.map { $0 / total }
    }

    public mutating func restore(_ saved: SkillItState) throws {
        guard saved.weights.count == state.weights.count, saved.losses.allSatisfy({ $0.count == evaluationSkills.count }) else {
            throw TrainingError("the checkpoint's Skill-it state has \(saved.weights.count) sources and "
                + "\(saved.losses.first?.count ?? 0) evaluation skills; the recipe has \(state.weights.count) and \(evaluationSkills.count)")
        }
        state = saved
    }
}
