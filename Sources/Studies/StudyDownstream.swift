import Foundation
import TextClassification
import TextData
import TextTasks
import Training

/// The downstream study (`pretrain study downstream`, `make study-downstream`): text models judged by the tasks of
/// docs/EVALUATION.md rather than by their loss.
///
/// 1. The suite: a GPT and a BERT of one shape pre-trained on the plays, and each continued on the suite's own texts
///    (the task domain), fine-tuned on every task at K examples per class (seeds), beside the majority class and
///    bag-of-words baselines and the GPT's zero-shot multiple-choice score.
/// 2. Prompt-based continued pre-training (PCP, Shi & Lipani 2023) vs task-adaptive pre-training (TAPT, Gururangan
///    et al. 2020) vs none, under prompt-based (LM-BFF) and conventional fine-tuning of the BERT at each few-shot K.
/// 3. Pseudo-label self-training vs fine-tuning alone, at the smallest K and with every label.
/// 4. Same loss, different flatness (Liu et al. 2023): GPTs brought to the base GPT's val loss by other routes (a
///    larger model, a smaller batch, a higher learning rate, training past the end), their Hessian trace and their
///    downstream scores.
public struct StudyDownstream {
    public let size: StudyDownstreamSize
    /// The bundled plays, and data/sources when present (the four tasks that read it are left out without it).
    public let text: URL
    public let sources: URL?
    public let out: URL
    public let resultsFile: URL
    public let reuse: Bool
    public let command: String
    public let cpu: String
    public static let valPlays = ["hamlet", "tempest"]

    public init(size: StudyDownstreamSize, text: URL, sources: URL?, out: URL, resultsFile: URL, reuse: Bool, command: String, cpu: String) {
        (self.size, self.text, self.sources, self.out, self.resultsFile) = (size, text, sources, out, resultsFile)
        (self.reuse, self.command, self.cpu) = (reuse, command, cpu)
    }

    func corpus(_ name: String) -> URL { out.appendingPathComponent("corpora").appendingPathComponent(name) }
    /// A run of the study by its table name ("gpt+domain" lives in OUT/gpt-domain).
    func checkpoint(_ run: String) -> URL { out.appendingPathComponent(run.replacingOccurrences(of: "+", with: "-")) }
    var seeds: [UInt64] { (0..<UInt64(size.seeds)).map { $0 } }

    public func run(console: ConsoleProgress = ConsoleProgress(), shouldStop: @escaping () -> Bool = { false }) throws -> StudyDownstreamResults {
        let loadBefore = StudyMachine.loadAverage()
        var runner = StudyRunner(out: out, reuse: reuse, console: console, shouldStop: shouldStop)
        var results = StudyDownstreamResults(size: size.name, command: command)
        let tasks = try prepareTasks(console: console)
        results.tasks = tasks.map(\.name)
        try prepareCorpora(tasks, console: console)
        var index = 0
        let total = 4 + 4 + tasks.filter { Self.adaptiveTasks.contains($0.name) }.count * (1 + size.fewShots.count)
        func train(_ name: String, _ label: String, _ recipe: Recipe, _ start: TrainingStart) throws -> StudyRunner.FinishedRun {
            index += 1
            return try runner.run(name, label: label, recipe: recipe, start: start, index: index, of: total)
        }
        var fineTuner = StudyFineTuner(study: self, console: console, shouldStop: shouldStop)
        try suite(tasks, &results, train: train, fineTuner: &fineTuner, console: console)
        try adaptivePretraining(tasks, &results, train: train, fineTuner: &fineTuner, console: console)
        try selfTraining(tasks, &results, fineTuner: &fineTuner, console: console)
        try flatness(tasks, &results, train: train, fineTuner: &fineTuner, console: console)
        results.machine = StudyMachine.description(cpu: cpu, loadBefore: loadBefore, loadAfter: StudyMachine.loadAverage())
        results.minutes = (runner.runs.reduce(0) { $0 + $1.seconds } + fineTuner.seconds) / 60
        results.reusedRuns = runner.reusedRuns
        results.reusedFineTunings = fineTuner.reused
        results.untimedFineTunings = fineTuner.untimed
        try StudyDownstreamReport.write(results, out: out, resultsFile: resultsFile)
        return results
    }

    /// The suite in OUT/tasks (the bundled plays' three tasks, and the four of data/sources when it exists).
    func prepareTasks(console: ConsoleProgress) throws -> [TextTask] {
        let directory = out.appendingPathComponent("tasks")
        let available = sources.map { FileManager.default.fileExists(atPath: $0.path) } ?? false
        let prepared = try TaskSuite.prepare(inputs: TaskInputs(shakespeare: text, sources: available ? sources : nil), out: directory)
        for task in prepared where task.counts == nil { console.message("── task \(task.name) left out: \(task.skipped ?? "")") }
        return try prepared.filter { $0.counts != nil }.map { try TextTask.load(directory.appendingPathComponent($0.name)) }
    }

    /// The plays (one tokenizer with <|endoftext|> and [MASK] for both models) and the suite's texts (the domain).
    func prepareCorpora(_ tasks: [TextTask], console: ConsoleProgress) throws {
        try StudyCorpora.prepare(corpus("plays"), inputs: try StudyCorpora.plays(text), split: .files(Self.valPlays),
                                 tokenizer: .train(vocabularySize: size.vocabulary, minFrequency: 2, specialTokens: ["<|endoftext|>", "[MASK]"]),
                                 console: console)
        let domain = out.appendingPathComponent("texts/domain.jsonl")
        try writeDocuments(try tasks.flatMap { try TaskAdaptiveText.documents($0, kind: .tapt) }, to: domain)
        try StudyCorpora.prepare(corpus("domain"), inputs: [domain], split: .fraction(0.05),
                                 tokenizer: .file(corpus("plays").appendingPathComponent("tokenizer.json")), console: console)
    }

    /// A recipe of the study's shape: a GPT-2 decoder, or a BERT (masked LM) at a quarter of the learning rate.
    func recipe(bert: Bool, corpus: URL, steps: Int, seed: Int = 1, layers: Int? = nil, width: Int? = nil,
                batchSize: Int? = nil, lrScale: Float = 1, checkpointEvery: Int? = nil) -> Recipe {
        var recipe = Recipe()
        recipe.model.flavor = bert ? .bert : .gpt2
        (recipe.model.layers, recipe.model.dModel, recipe.model.heads, recipe.model.context) =
            (layers ?? size.layers, width ?? size.width, size.heads, size.context)
        if bert { recipe.objective.kind = .maskedLM }
        recipe.data.corpus = corpus.path
        let scale = (bert ? 0.25 : 1) * lrScale
        (recipe.optim.lr, recipe.optim.batchSize, recipe.optim.weightDecay, recipe.optim.betas) =
            (size.lr * scale, batchSize ?? size.batchSize, 0.1, [0.9, 0.95])
        (recipe.schedule.kind, recipe.schedule.warmup, recipe.schedule.minLR) = (.cosine, min(size.warmup, steps / 4), size.minLR * scale)
        (recipe.train.steps, recipe.train.evalEvery, recipe.train.evalBatches) = (steps, size.evalEvery, size.evalBatches)
        (recipe.train.logEvery, recipe.train.checkpointEvery) = (max(1, size.evalEvery / 5), checkpointEvery ?? steps)
        recipe.train.keepLast = checkpointEvery == nil ? 1 : steps / (checkpointEvery ?? steps) + 1
        recipe.train.seed = UInt64(seed)
        return recipe
    }
}
