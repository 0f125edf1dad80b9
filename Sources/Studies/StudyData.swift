import Curation
import FileErrors
import Foundation
import Layers
import Tensors
import TextData
import Training

/// The data-centric study (`pretrain study data`, `make study-data`), on the real sources `make sources` prepares:
///
/// 1. Conditional training (Korbak et al. 2023) on the Italian and Spanish fortunes, whose Debian packages keep the
///    offensive ones apart: MLE on everything, conditional training (each document after <|good|> or <|bad|> by its
///    package's label) and filtering (the offensive ones left out), at equal steps; the offensive share of their
///    samples as our n-gram classifier judges it (trained on the training fortunes' labels; its held-out accuracy
///    per class is reported), unconditioned and, for the conditional model, under <|good|> with <|bad|> banned; and
///    val loss on the held-out non-offensive fortunes.
/// 2. Skill-it (Chen et al. 2023) over four sources (English fortunes, manual pages, CPython, Shakespeare): the
///    skills graph from short runs, then the uniform mixture, the natural one (proportional to the sources' sizes)
///    and Skill-it's online weights at equal steps; each skill's val loss.
/// 3. Data age (Longpre et al. 2023, "A Pretrainer's Guide to Training Data"): a model of the modern-spelling plays
///    and one of the First Folio, each evaluated on both; then a little continued pre-training into the other era.
/// 4. Curation: the funnel of the four sources through one pipeline (`pretrain curate`'s steps), and a model on the
///    curated text vs one on the raw text at equal steps, on the same held-out curated documents.
/// Trains (or reuses) one run of the study: name, label, recipe, start.
typealias StudyTrain = (String, String, Recipe, TrainingStart) throws -> StudyRunner.FinishedRun

public struct StudyData {
    public let size: StudyDataSize
    public let sources: URL
    public let text: URL
    public let folioText: URL
    public let out: URL
    public let resultsFile: URL
    public let reuse: Bool
    public let command: String
    public let cpu: String
    public static let skillSources = [("fortunes-en", "fortunes/en.jsonl"), ("manpages", "manpages.jsonl"),
                                      ("cpython", "cpython.jsonl"), ("shakespeare", "shakespeare-modern.jsonl")]
    public static let valPlays = ["hamlet", "tempest"]

    public init(size: StudyDataSize, sources: URL, text: URL, folioText: URL, out: URL, resultsFile: URL, reuse: Bool,
                command: String, cpu: String) {
        (self.size, self.sources, self.text, self.folioText, self.out) = (size, sources, text, folioText, out)
        (self.resultsFile, self.reuse, self.command, self.cpu) = (resultsFile, reuse, command, cpu)
    }

    func corpus(_ name: String) -> URL { out.appendingPathComponent("corpora").appendingPathComponent(name) }

    public func run(console: ConsoleProgress = ConsoleProgress(), shouldStop: @escaping () -> Bool = { false }) throws -> StudyDataResults {
        let loadBefore = StudyMachine.loadAverage()
        var runner = StudyRunner(out: out, reuse: reuse, console: console, shouldStop: shouldStop)
        var results = StudyDataResults(size: size.name, command: command)
        let total = 3 * size.seeds + Self.filterThresholds.count + 2 * size.seeds + 1 + 4 + 2 * size.seeds
        var index = 0
        func train(_ name: String, _ label: String, _ recipe: Recipe, _ start: TrainingStart) throws -> StudyRunner.FinishedRun {
            index += 1
            return try runner.run(name, label: label, recipe: recipe, start: start, index: index, of: total)
        }
        try conditionalTraining(&results, console: console, train: train)
        try skillIt(&results, console: console, train: train)
        try dataAge(&results, console: console, train: train)
        try curation(&results, console: console, train: train)
        results.machine = StudyMachine.description(cpu: cpu, loadBefore: loadBefore, loadAfter: StudyMachine.loadAverage())
        results.minutes = runner.runs.reduce(0) { $0 + $1.seconds } / 60
        results.reusedRuns = runner.reusedRuns
        try StudyDataReport.write(results, out: out, resultsFile: resultsFile)
        return results
    }

    /// A GPT-2 recipe of the study's shape on a prepared corpus.
    func gpt(corpus: URL, steps: Int, seed: Int) -> Recipe {
        var recipe = Recipe()
        recipe.model.flavor = .gpt2
        (recipe.model.layers, recipe.model.dModel, recipe.model.heads, recipe.model.context) = (size.layers, size.width, size.heads, size.context)
        recipe.data.corpus = corpus.path
        (recipe.optim.lr, recipe.optim.batchSize, recipe.optim.weightDecay, recipe.optim.betas) = (size.lr, size.batchSize, 0.1, [0.9, 0.95])
        (recipe.schedule.kind, recipe.schedule.warmup, recipe.schedule.minLR) = (.cosine, size.warmup, size.minLR)
        (recipe.train.steps, recipe.train.evalEvery, recipe.train.evalBatches) = (steps, size.evalEvery, size.evalBatches)
        (recipe.train.logEvery, recipe.train.checkpointEvery, recipe.train.keepLast) = (max(1, size.evalEvery / 5), steps, 1)
        recipe.train.seed = UInt64(seed)
        return recipe
    }

    /// Prepares `inputs` into corpus `name` unless it was prepared from the same inputs (`StudyCorpora.prepare`).
    func prepare(_ name: String, _ inputs: [URL], split: CorpusPreparation.Split, tokenizer: CorpusPreparation.TokenizerSource,
                 console: ConsoleProgress) throws {
        try StudyCorpora.prepare(corpus(name), inputs: inputs, split: split, tokenizer: tokenizer, console: console)
    }

    /// (text, meta) of every line of a source file of `make sources`.
    func readSource(_ path: String) throws -> [(text: String, meta: [String: Any])] {
        let url = sources.appendingPathComponent(path)
        guard let data = try? Data(contentsOf: url) else {
            throw TrainingError("\(url.path): missing; `make sources` fetches and prepares the study's sources")
        }
        return try JSONLines.lines(data).map { number, line in
            guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any], let text = object["text"] as? String else {
                throw TrainingError("\(url.path) line \(number): not a JSON object with a string \"text\"")
            }
            return (text, object["meta"] as? [String: Any] ?? [:])
        }
    }
}
