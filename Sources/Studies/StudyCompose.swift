import Composition
import Foundation
import Layers
import Tensors
import TextData
import Training

/// The composition study (`pretrain study compose`, `make study-compose`): models combined without training.
///
/// Domains (each a prepared corpus of OUT/corpora with one tokenizer): `original` (the modern-spelling plays but the
/// histories; val: hamlet and tempest), `folio` (the same plays in First Folio spelling, the "fine-tuning" domain) and
/// `histories` (the modern history plays, the "new data"; val: richard_iii).
///
/// 1. Up-scaling (Mitchell et al. 2024, EFT): large base + β·(small tuned − small base), β swept, against the large
///    base, the small tuned model and the large model really tuned, on the Folio and the original domain.
/// 2. Residual transfer (Jindal et al. 2024): the small base continued on the histories, plus the Folio residual
///    (tuned − base), against the tuned model continued on the histories and the continued base re-tuned.
/// 3. Merging (model soups, task arithmetic, TIES): the Folio child and the histories child of the small base, merged,
///    against each child.
public struct StudyCompose {
    public let size: StudyComposeSize
    public let text: URL
    public let folioText: URL
    public let out: URL
    public let resultsFile: URL
    public let reuse: Bool
    public let command: String
    public let cpu: String
    static let valPlays = ["hamlet", "tempest"]
    static let histories = ["henry_iv_part_1", "henry_iv_part_2", "henry_v", "henry_vi_part_1", "henry_vi_part_2", "henry_vi_part_3",
                            "henry_viii", "john", "richard_ii", "richard_iii"]
    static let valHistory = "richard_iii"
    public static let domains = ["original", "folio", "histories"]

    public init(size: StudyComposeSize, text: URL, folioText: URL, out: URL, resultsFile: URL, reuse: Bool, command: String, cpu: String) {
        (self.size, self.text, self.folioText, self.out, self.resultsFile) = (size, text, folioText, out, resultsFile)
        (self.reuse, self.command, self.cpu) = (reuse, command, cpu)
    }

    func corpus(_ name: String) -> URL { out.appendingPathComponent("corpora").appendingPathComponent(name) }
    func run(_ name: String) -> URL { out.appendingPathComponent(name) }

    public func run(console: ConsoleProgress = ConsoleProgress(), shouldStop: @escaping () -> Bool = { false }) throws -> StudyComposeResults {
        let loadBefore = StudyMachine.loadAverage()
        let started = Date()
        try prepareCorpora(console: console)
        var runner = StudyRunner(out: out, reuse: reuse, console: console, shouldStop: shouldStop)
        var results = StudyComposeResults(size: size.name, command: command)
        let total = 2 + 5 * size.seeds
        var index = 0
        func train(_ name: String, _ label: String, _ recipe: Recipe, _ start: TrainingStart = .fresh) throws {
            index += 1
            _ = try runner.run(name, label: label, recipe: recipe, start: start, index: index, of: total)
        }
        let scorer = try StudyComposeScorer(study: self)
        func score(_ part: String, _ arm: String, seed: Int, _ model: any NextTokenModel) {
            results.rows.append(ComposeRow(part: part, arm: arm, seed: seed, bitsPerByte: scorer.bitsPerByte(model)))
        }
        func load(_ name: String) throws -> GPTModel {
            let loaded = try loadCheckpoint(run(name))
            guard let decoder = loaded.decoder else { throw TrainingError("\(run(name).path) is not a decoder") }
            return decoder
        }

        try train("large-base", "large base on the original domain", recipe(size.large, corpus: "original", steps: size.baseSteps, seed: 1))
        try train("large-folio", "large base tuned on the Folio", recipe(size.large, corpus: "folio", steps: size.continuedSteps, seed: 1),
                  .initFrom(run("large-base")))
        let largeBase = try load("large-base")
        score("up-scaling", "large tuned (real fine-tuning)", seed: 1, try load("large-folio"))
        for seed in 1...size.seeds {
            let s = "-s\(seed)"
            try train("small-base" + s, "small base, seed \(seed)", recipe(size.small, corpus: "original", steps: size.baseSteps, seed: seed))
            try train("small-folio" + s, "small base tuned on the Folio, seed \(seed)",
                      recipe(size.small, corpus: "folio", steps: size.continuedSteps, seed: seed), .initFrom(run("small-base" + s)))
            try train("small-histories" + s, "small base continued on the histories, seed \(seed)",
                      recipe(size.small, corpus: "histories", steps: size.continuedSteps, seed: seed), .initFrom(run("small-base" + s)))
            try train("small-folio-histories" + s, "small tuned continued on the histories, seed \(seed)",
                      recipe(size.small, corpus: "histories", steps: size.continuedSteps, seed: seed), .initFrom(run("small-folio" + s)))
            try train("small-histories-folio" + s, "continued base re-tuned on the Folio, seed \(seed)",
                      recipe(size.small, corpus: "folio", steps: size.continuedSteps, seed: seed), .initFrom(run("small-histories" + s)))
            console.message("── compositions and merges of seed \(seed)")
            let (base, tuned) = (try load("small-base" + s), try load("small-folio" + s))

            // 1. Up-scaling, β swept (β = 0 is the large base alone).
            score("up-scaling", "small base", seed: seed, base)
            score("up-scaling", "small tuned", seed: seed, tuned)
            for beta in size.betas {
                score("up-scaling", Self.upScaled(beta), seed: seed,
                      ComposedDecoder(models: [largeBase, tuned, base], weights: [1, Float(beta), Float(-beta)]))
            }

            // 2. Residual transfer: the continued base + (tuned − base).
            let residual = try merge(.residual, [run("small-folio" + s)], base: run("small-base" + s), target: run("small-histories" + s),
                                     into: "residual" + s)
            score("residual", "base continued on the histories", seed: seed, try load("small-histories" + s))
            score("residual", "+ the Folio residual (tuned − base)", seed: seed, residual)
            score("residual", "tuned, continued on the histories", seed: seed, try load("small-folio-histories" + s))
            score("residual", "continued base, re-tuned on the Folio", seed: seed, try load("small-histories-folio" + s))

            // 3. Merging the Folio child and the histories child of the small base.
            let children = [run("small-folio" + s), run("small-histories" + s)]
            score("merging", "Folio child", seed: seed, tuned)
            score("merging", "histories child", seed: seed, try load("small-histories" + s))
            score("merging", "average", seed: seed, try merge(.linear, children, into: "average" + s))
            score("merging", "task arithmetic (λ = 1)", seed: seed,
                  try merge(.taskArithmetic, children, base: run("small-base" + s), into: "task-arithmetic" + s))
            score("merging", "TIES (density \(size.tiesDensity))", seed: seed,
                  try merge(.ties, children, base: run("small-base" + s), density: size.tiesDensity, into: "ties" + s))
        }
        results.machine = StudyMachine.description(cpu: cpu, loadBefore: loadBefore, loadAfter: StudyMachine.loadAverage())
        results.minutes = Date().timeIntervalSince(started) / 60
        results.trainingMinutes = runner.runs.reduce(0) { $0 + $1.seconds } / 60
        results.reusedRuns = runner.reusedRuns
        try StudyComposeReport.write(results, out: out, resultsFile: resultsFile)
        return results
    }

    static func upScaled(_ beta: Double) -> String {
        beta == 0 ? "large base (β = 0)" : String(format: "large base + %g·(small tuned − small base)", beta)
    }

    /// A merge of the study's checkpoints into OUT/merges/<name>, loaded.
    func merge(_ method: MergeMethod, _ models: [URL], base: URL? = nil, target: URL? = nil, density: Double = 0.2,
               into name: String) throws -> GPTModel {
        var merge = CheckpointMerge(method: method, models: models)
        (merge.base, merge.target, merge.density) = (base, target, density)
        let written = try merge.write(to: out.appendingPathComponent("merges").appendingPathComponent(name))
        guard let decoder = try loadCheckpoint(written).decoder else { throw TrainingError("\(written.path) is not a decoder") }
        return decoder
    }

    /// The three domains' corpora, one tokenizer (trained on the original domain's text).
    func prepareCorpora(console: ConsoleProgress) throws {
        let isHistory = { (url: URL) in Self.histories.contains(url.deletingPathExtension().lastPathComponent) }
        let modern = try StudyCorpora.plays(text)
        try StudyCorpora.prepare(corpus("original"), inputs: modern.filter { !isHistory($0) }, split: .files(Self.valPlays),
                                 tokenizer: .train(vocabularySize: size.vocabulary, minFrequency: 2, specialTokens: ["<|endoftext|>"]),
                                 console: console)
        let tokenizer = CorpusPreparation.TokenizerSource.file(corpus("original").appendingPathComponent("tokenizer.json"))
        try StudyCorpora.prepare(corpus("folio"), inputs: try StudyCorpora.plays(folioText).filter { !isHistory($0) },
                                 split: .files(Self.valPlays), tokenizer: tokenizer, console: console)
        try StudyCorpora.prepare(corpus("histories"), inputs: modern.filter(isHistory), split: .files([Self.valHistory]),
                                 tokenizer: tokenizer, console: console)
    }

    /// A GPT-2 of `shape` on `corpus`, cosine schedule, checkpoints only at the end.
    func recipe(_ shape: (layers: Int, width: Int, heads: Int), corpus name: String, steps: Int, seed: Int) -> Recipe {
        var recipe = Recipe()
        recipe.model.flavor = .gpt2
        (recipe.model.layers, recipe.model.dModel, recipe.model.heads, recipe.model.context) = (shape.layers, shape.width, shape.heads, size.context)
        recipe.data.corpus = corpus(name).path
        (recipe.optim.lr, recipe.optim.batchSize, recipe.optim.weightDecay, recipe.optim.betas) = (size.lr, size.batchSize, 0.1, [0.9, 0.95])
        (recipe.schedule.kind, recipe.schedule.warmup, recipe.schedule.minLR) = (.cosine, min(size.warmup, steps / 4), size.minLR)
        (recipe.train.steps, recipe.train.evalEvery, recipe.train.evalBatches) = (steps, size.evalEvery, 4)
        (recipe.train.logEvery, recipe.train.checkpointEvery, recipe.train.keepLast) = (max(1, size.evalEvery / 5), steps, 1)
        recipe.train.seed = UInt64(seed)
        return recipe
    }
}

/// Scores any decoder or composition on each domain's val windows (the same windows for every model): bits per byte.
struct StudyComposeScorer {
    let windows: [String: [IntTensor]]
    let bytesPerToken: [String: Double]

    init(study: StudyCompose) throws {
        var windows: [String: [IntTensor]] = [:], bytesPerToken: [String: Double] = [:]
        for domain in StudyCompose.domains {
            let corpus = try PreparedCorpus(directory: study.corpus(domain))
            let shards = try corpus.readShards(.val, vocabularySize: corpus.vocabularySize)
            windows[domain] = evaluationBatches(shards: shards, context: study.size.context, batchSize: 16, limit: study.size.scoreBatches)
            bytesPerToken[domain] = Double(corpus.valBytes) / Double(max(1, corpus.valTokens))
        }
        (self.windows, self.bytesPerToken) = (windows, bytesPerToken)
    }

    func bitsPerByte(_ model: any NextTokenModel) -> [String: Double] {
        var scores: [String: Double] = [:]
        for domain in StudyCompose.domains {
            scores[domain] = NextTokenEvaluation.evaluate(model, windows: windows[domain]!, bytesPerToken: bytesPerToken[domain]).bitsPerByte
        }
        return scores
    }
}
