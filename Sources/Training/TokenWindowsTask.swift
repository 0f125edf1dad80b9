import Foundation
import Layers
import Objectives
import Tensors

/// Token windows: (B, T+1) windows of token ids from one corpus or a weighted mixture of sources, for the text
/// families (gpt2, llama, bert).
public enum TokenWindows: DataForm {
    public static let isText = true
    public static let dataKeys: Set<String> = ["corpus", "val", "sampling", "mixture", "replay", "phases", "skill_it", "balance_by"]

    public static func resolve(_ model: inout ModelSection, corpus: TrainingCorpus) throws {
        guard corpus.features == nil && corpus.waveforms == nil else {
            throw TrainingError("model.flavor \(model.flavor.rawValue) trains on token windows (data.corpus); this corpus holds "
                + (corpus.features != nil ? "features" : "waveforms"))
        }
        let vocabulary = model.vocabSize ?? corpus.vocabularySize
        let largest = corpus.largestTokenID()
        guard largest < vocabulary else {
            throw TrainingError("the corpus holds token id \(largest), outside model.vocab_size \(vocabulary)")
        }
        model.vocabSize = vocabulary
    }

    public static func makeTask(objective: TrainableObjective, recipe: Recipe, corpus: TrainingCorpus,
                                seed: UInt64, shard: DataShard) throws -> TrainingTask {
        guard let objective = objective as? PretrainingObjective else { throw objectiveMismatch(objective, expected: "token windows") }
        try MicroBatchMemory.check(recipe, parameters: objective.model.parameterCount)
        let windows = try TokenWindowStream(recipe: recipe, corpus: corpus, seed: seed, shard: shard)
        var skillIt: SkillItRule?
        if let settings = recipe.data.skillIt, case .mixture(let mixture) = windows {
            skillIt = try SkillItRule(settings, graph: try SkillsGraph.load(URL(fileURLWithPath: settings.graph)),
                                      sources: mixture.plan.sources.map(\.name), graphFile: settings.graph)
        }
        return try TokenWindowsTask(objective: objective, recipe: recipe, corpus: corpus, shard: shard, windows: windows,
                                    skillIt: skillIt)
    }
}

/// Where token windows come from: one corpus, or a weighted mixture of sources.
enum TokenWindowStream {
    case single(TokenBatcher)
    case mixture(MixtureBatcher)
    case balanced(BalancedBatcher)

    /// A TokenBatcher over the corpus, or a MixtureBatcher over its sources when the recipe has a mixture.
    init(recipe: Recipe, corpus: TrainingCorpus, seed: UInt64, shard: DataShard) throws {
        let (context, batchSize, sampling) = (recipe.model.context, recipe.optim.batchSize, recipe.data.sampling)
        if !corpus.groups.isEmpty {
            self = .balanced(try BalancedBatcher(groups: corpus.groups, shards: corpus.trainShards, context: context,
                                                 batchSize: batchSize, seed: Trainer.seed(seed, .data), shard: shard))
            return
        }
        guard let plan = MixturePlan(recipe.data) else {
            guard corpus.sources.isEmpty else {
                throw TrainingError("the corpus has mixture sources but the recipe has no data.mixture or data.replay")
            }
            self = .single(try TokenBatcher(shards: corpus.trainShards, context: context, batchSize: batchSize,
                                            sampling: sampling, seed: Trainer.seed(seed, .data), shard: shard))
            return
        }
        guard corpus.sources.map(\.name) == plan.sources.map(\.name) else {
            throw TrainingError("the corpus' sources (\(corpus.sources.map(\.name).joined(separator: ", "))) are not "
                + "the recipe's (\(plan.sources.map(\.name).joined(separator: ", "))); load it with TrainingCorpus.load(recipe.data)")
        }
        self = .mixture(try MixtureBatcher(plan: plan, shards: corpus.sources.map(\.shards), context: context,
                                           batchSize: batchSize, sampling: sampling, seed: Trainer.seed(seed, .mixture),
                                           shard: shard))
    }

    /// The next micro-batch for update `step` (the step picks a mixture's phase): (B, T+1).
    func next(step: Int) -> IntTensor {
        switch self {
        case .single(let batcher): return batcher.next()
        case .mixture(let mixture): return mixture.next(step: step)
        case .balanced(let balanced): return balanced.next()
        }
    }
}

/// Token windows feeding a token objective (causal LM, masked LM); every source's val split evaluated under its name.
final class TokenWindowsTask: TrainingTask {
    let tokenObjective: PretrainingObjective
    var objective: TrainableObjective { tokenObjective }
    let recipe: Recipe
    let corpus: TrainingCorpus
    let windows: TokenWindowStream
    /// The ranks that split each evaluation (one process: all of it).
    let shard: DataShard
    /// The validation windows of periodic evaluations, per set (the main one first).
    private let validationBatches: [[IntTensor]]
    /// Skill-it's online weights, and the val windows of each evaluation skill it measures every round.
    private var skillIt: SkillItRule?
    private let skillBatches: [[IntTensor]]

    init(objective: PretrainingObjective, recipe: Recipe, corpus: TrainingCorpus, shard: DataShard, windows: TokenWindowStream,
         skillIt: SkillItRule? = nil) throws {
        (tokenObjective, self.recipe, self.corpus, self.shard, self.windows) = (objective, recipe, corpus, shard, windows)
        let limit = recipe.train.evalBatches
        validationBatches = ([corpus.validation] + corpus.namedValidation).map {
            evaluationBatches(shards: $0.shards, context: recipe.model.context, batchSize: recipe.optim.batchSize,
                              limit: limit == 0 ? nil : limit)
        }
        self.skillIt = skillIt
        skillBatches = try (skillIt?.evaluationSkills ?? []).map { skill in
            let set = corpus.validationSet(named: skill)
            let batches = evaluationBatches(shards: set?.shards ?? [], context: recipe.model.context,
                                            batchSize: recipe.optim.batchSize, limit: skillIt!.settings.evalBatches)
            guard !batches.isEmpty else {
                throw TrainingError("data.skill_it: the val split of source '\(skill)' holds no window of "
                    + "\(recipe.model.context + 1) tokens to measure the skill on")
            }
            return batches
        }
    }

    var model: Module { tokenObjective.model }
    let inputUnit = "tok"

    func prepare(step: Int) {
        (tokenObjective as? StepAwareObjective)?.prepare(step: step)
        guard var rule = skillIt, rule.isRound(step), case .mixture(let mixture) = windows else { return }
        // The same windows and evaluation masks every round (and on every rank: the evaluation is summed over them).
        rule.observe(skillBatches.map { Training.evaluate(tokenObjective, batches: $0, bytesPerToken: nil, shard: shard).loss })
        mixture.weightsOverride = rule.state.weights
        skillIt = rule
    }

    func nextLoss(step: Int, generator: inout RandomGenerator) -> (loss: Tensor, inputs: Int) {
        let batch = windows.next(step: step)
        return (tokenObjective.loss(batch, generator: &generator).loss, batch.shape[0] * (batch.shape[1] - 1))
    }

    var hasValidation: Bool { !validationBatches[0].isEmpty }
    var noValidationWarning: String {
        "warning: the validation split holds no window of \(recipe.model.context + 1) tokens; evaluations are skipped"
    }

    /// The main set into val_loss/val_ppl/val_bpb, named ones into val_loss/<name>.
    func evaluate(full: Bool, into record: inout MetricsRecord) -> Evaluation {
        var main: Evaluation?
        for (index, set) in ([corpus.validation] + corpus.namedValidation).enumerated() {
            let batches = full && recipe.train.evalBatches > 0
                ? evaluationBatches(shards: set.shards, context: recipe.model.context, batchSize: recipe.optim.batchSize)
                : validationBatches[index]
            guard !batches.isEmpty else { continue }
            let evaluation = Training.evaluate(tokenObjective, batches: batches, bytesPerToken: set.bytesPerToken, shard: shard)
            if index == 0 {
                main = evaluation
                record.valLoss = evaluation.loss
                record.valPerplexity = evaluation.perplexity
                record.valBitsPerByte = evaluation.bitsPerByte
            } else {
                record.namedValidationLosses[set.name] = evaluation.loss
            }
        }
        for (alias, name) in corpus.validationAliases {
            record.namedValidationLosses[alias] = name == "val" ? record.valLoss : record.namedValidationLosses[name]
        }
        return main ?? Evaluation(loss: .nan, predicted: 0, bitsPerByte: nil)
    }

    func describe(_ evaluation: Evaluation, record: MetricsRecord, step: Int, full: Bool) -> String {
        var text = String(format: "eval step %d: val loss %.4f │ ppl %.2f", step, evaluation.loss, evaluation.perplexity)
        if let bpb = evaluation.bitsPerByte { text += String(format: " │ %.4f bits/byte", bpb) }
        text += " (\(full ? "all " : "")\(ConsoleProgress.grouped(Double(evaluation.predicted))) val tokens)"
        // The other sources' losses: forgetting during continual pre-training, on the console as it happens.
        for (name, loss) in record.namedValidationLosses.sorted(by: { $0.key < $1.key }) {
            text += " │ \(name) " + String(format: "%.4f", loss)
        }
        return text
    }

    func describeRun(steps: Int) -> String {
        let m = recipe.model
        let tokensPerStep = recipe.optim.batchSize * recipe.optim.gradAccum * m.context
        return "\(m.flavor.rawValue) \(m.layers)×\(m.dModel) (\(m.heads) heads, context \(m.context), vocab \(m.vocabSize ?? 0)): "
            + "\(ConsoleProgress.grouped(Double(model.parameterCount))) parameters; \(steps) steps of \(ConsoleProgress.grouped(Double(tokensPerStep))) tokens on "
            + "\(ConsoleProgress.grouped(Double(corpus.trainTokenCount))) train tokens\(describeMixture())"
    }

    /// " (mixture: a 75 % (12.3k tokens), b 25 % (4,096 tokens); phases change at steps 100, 200)".
    private func describeMixture() -> String {
        if case .balanced(let balanced) = windows {
            return " (balanced by \(recipe.data.balanceBy ?? ""): " + balanced.groups.map { group in
                "\(group.value) \(ConsoleProgress.grouped(Double(group.ranges.reduce(0) { $0 + $1.count }))) tokens"
            }.joined(separator: ", ") + ")"
        }
        guard case .mixture(let mixture) = windows else { return "" }
        let weights = mixture.plan.weights(at: 0)
        let parts = zip(mixture.plan.sources, corpus.sources).enumerated().map { index, pair in
            "\(pair.0.name) \(Int((100 * weights[index]).rounded())) % (\(ConsoleProgress.grouped(Double(pair.1.tokenCount))) tokens)"
        }
        let boundaries = mixture.plan.boundaries
        return " (mixture: " + parts.joined(separator: ", ")
            + (boundaries.isEmpty ? "" : "; phases change at steps \(boundaries.map(String.init).joined(separator: ", "))") + ")"
    }

    var inputsBySource: [String: Int] {
        if case .mixture(let mixture) = windows { return mixture.tokensBySource }
        if case .balanced(let balanced) = windows { return balanced.tokensByGroup }
        return [:]
    }

    var phaseBoundaries: [Int] {
        if case .mixture(let mixture) = windows { return mixture.plan.boundaries }
        return []
    }

    /// The objective's metrics, and a Skill-it mixture's current weights as `mixture_weight/<source>`.
    func drainMetrics(step: Int) -> (metrics: [String: Double], warnings: [String]) {
        var metrics = (tokenObjective as? StepAwareObjective)?.drainMetrics() ?? [:]
        if let skillIt, case .mixture(let mixture) = windows {
            for (source, weight) in zip(mixture.plan.sources, skillIt.state.weights) { metrics["mixture_weight/\(source.name)"] = weight }
        }
        return (metrics, [])
    }

    func saveStreams(into state: inout TrainerState) {
        switch windows {
        case .single(let batcher): state.batcher = batcher.state
        case .mixture(let mixture):
            state.mixture = mixture.state
            state.mixture?.skillIt = skillIt?.state
        case .balanced(let balanced): state.balanced = balanced.state
        }
    }

    /// Continues from a checkpoint's data position, which must be of the same kind (one corpus, or a mixture).
    func restoreStreams(from state: TrainerState, checkpoint: URL) throws {
        switch windows {
        case .single(let windows):
            guard let batcher = state.batcher, state.balanced == nil else {
                if state.balanced != nil {
                    throw TrainingError("\(checkpoint.path) was written with data.balance_by, and the recipe has none; exact "
                        + "resume needs the same data (use --init-from to continue on other data)")
                }
                throw TrainingError("\(checkpoint.path) was written by a run with a data mixture"
                    + (state.featureBatcher != nil ? " (or on features)" : "") + ", and the recipe has "
                    + "none; exact resume needs the same data (use --init-from to continue on other data)")
            }
            try windows.restore(batcher)
        case .balanced(let windows):
            guard let balanced = state.balanced else {
                throw TrainingError("\(checkpoint.path) was written without data.balance_by; exact resume needs the same data "
                    + "(use --init-from to continue balanced)")
            }
            try windows.restore(balanced)
        case .mixture(let windows):
            guard let mixture = state.mixture else {
                throw TrainingError("\(checkpoint.path) was written by a single-corpus run, and the recipe has a data "
                    + "mixture; exact resume needs the same data (use --init-from to continue on other data)")
            }
            try windows.restore(mixture)
            if skillIt != nil {
                guard let saved = mixture.skillIt else {
                    throw TrainingError("\(checkpoint.path) was written without data.skill_it; exact resume needs the same "
                        + "mixture settings (use --init-from to continue with Skill-it)")
                }
                try skillIt!.restore(saved)
                windows.weightsOverride = saved.weights
            }
        }
    }

    func writeCheckpointFiles(to directory: URL) throws {
        if let tokenizer = corpus.tokenizerURL {
            try FileManager.default.copyItem(at: tokenizer, to: directory.appendingPathComponent(Checkpoint.tokenizerFile))
        }
    }
}
