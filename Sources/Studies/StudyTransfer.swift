import Foundation
import Tensors
import TextData
import Training

/// The knowledge-transfer study (`pretrain study transfer`, `make study-transfer`): soft-label distillation, SALT
/// (a small teacher early, with and without its data selection), ERNIE-Tiny's staged latent distillation of a BERT,
/// self-distillation for further pre-training on a small target set, bert2BERT growth and SPDF, on Shakespeare.
///
/// Corpora (prepared into OUT/corpora from the plain-text plays): `gpt` (modern spelling, BPE of `vocabulary`, val:
/// the `valPlays`), `bert` and `bert-folio` (the same with a [MASK] token; the Folio spelling is the BERT "task
/// domain"), and `target` (the first 85 % of the lines of `targetPlay`, one of the val plays, for training, the rest for
/// validation: a set small enough that further pre-training over-fits it).
public struct StudyTransfer {
    public let size: StudyTransferSize
    public let text: URL
    public let folioText: URL
    public let valPlays: [String]
    public let targetPlay: String
    public let out: URL
    public let resultsFile: URL
    public let reuse: Bool
    public let command: String
    public let cpu: String

    public init(size: StudyTransferSize, text: URL, folioText: URL, valPlays: [String] = ["hamlet", "tempest"],
                targetPlay: String = "tempest", out: URL, resultsFile: URL, reuse: Bool, command: String, cpu: String) {
        (self.size, self.text, self.folioText, self.valPlays, self.targetPlay) = (size, text, folioText, valPlays, targetPlay)
        (self.out, self.resultsFile, self.reuse, self.command, self.cpu) = (out, resultsFile, reuse, command, cpu)
    }

    var corpora: URL { out.appendingPathComponent("corpora") }
    func corpus(_ name: String) -> URL { corpora.appendingPathComponent(name) }

    /// Prepares the corpora (kept when already prepared from the same text), runs every arm and writes the results.
    public func run(console: ConsoleProgress = ConsoleProgress(), shouldStop: @escaping () -> Bool = { false }) throws -> StudyTransferResults {
        let started = Date()
        let loadBefore = StudyMachine.loadAverage()
        try prepareCorpora(console: console)
        var runner = StudyRunner(out: out, reuse: reuse, console: console, shouldStop: shouldStop)
        var results = StudyTransferResults(size: size.name, command: command, machine: "")
        let plan = StudyTransferPlan(size: size, study: self)
        let total = plan.runCount
        var index = 0
        func train(_ name: String, _ label: String, _ recipe: Recipe, start: TrainingStart = .fresh) throws -> StudyRunner.FinishedRun {
            index += 1
            return try runner.run(name, label: label, recipe: recipe, start: start, index: index, of: total)
        }

        // 1. Soft-label KD: a large teacher trained longer; small students with and without it, over the seeds.
        _ = try train("teacher", "large teacher", plan.gpt(size.large, steps: size.teacherSteps, seed: 1))
        for seed in 1...size.seeds {
            let plain = try train("small-plain-s\(seed)", "small, no KD, seed \(seed)", plan.gpt(size.small, steps: size.smallSteps, seed: seed))
            results.add(.kd, "no KD", seed: seed, plain)
            let kd = try train("small-kd-s\(seed)", "small, KD, seed \(seed)", plan.distilled(plan.gpt(size.small, steps: size.smallSteps, seed: seed),
                                                                                          teacher: "teacher") { _ in })
            results.add(.kd, "KD (τ 2, ½ hard + ½ soft)", seed: seed, kd)
        }

        // 2. SALT: the small model teaches the large one for the first quarter (and chooses its windows), vs plain and KD throughout.
        let large = plan.gpt(size.large, steps: size.largeSteps, seed: 1)
        let scratch = try train("large-plain", "large, plain", plan.evaluatedOnTheWholeSplit(large))
        results.add(.salt, "plain", seed: 1, scratch)
        let quarter = max(1, size.largeSteps / 4)
        results.add(.salt, "SALT: KD for the first 25 %", seed: 1,
                    try train("large-salt", "large, SALT", plan.distilled(large, teacher: "small-plain-s1") { $0.untilStep = quarter }))
        results.add(.salt, "KD throughout", seed: 1, try train("large-kd", "large, KD throughout", plan.distilled(large, teacher: "small-plain-s1") { _ in }))
        let selection = try plan.selectHardWindows(teacher: out.appendingPathComponent("small-plain-s1"), into: corpus("salt-selected"))
        results.selection = selection
        results.add(.salt, "SALT + selected windows in the first 25 %", seed: 1,
                    try train("large-salt-ds", "large, SALT with selected windows",
                              plan.withSelectedWindows(plan.distilled(large, teacher: "small-plain-s1") { $0.untilStep = quarter }, until: quarter)))

        // 3. BERT: ERNIE-Tiny's stages vs one-stage KD (the task: masked LM on the Folio's held-out plays).
        let bertTeacher = plan.bert(size.large.layers, size.large.width, size.small.heads, corpus: "bert", steps: size.bertTeacherSteps)
        _ = try train("bert-teacher", "BERT teacher (modern spelling)", bertTeacher)
        let further = plan.bert(size.large.layers, size.large.width, size.small.heads, corpus: "bert-folio", steps: size.bertFurtherSteps)
        _ = try train("bert-teacher-folio", "BERT teacher further pre-trained on the Folio", further,
                      start: .initFrom(out.appendingPathComponent("bert-teacher")))
        let student = plan.bert(size.small.layers, size.small.width, size.small.heads, corpus: "bert-folio", steps: size.bertStudentSteps)
        results.add(.ernie, "no teacher", seed: 1, try train("bert-plain", "BERT student, no teacher", student))
        results.add(.ernie, "one-stage KD (Folio teacher)", seed: 1,
                    try train("bert-kd", "BERT student, one-stage KD", plan.distilled(student, teacher: "bert-teacher-folio") { _ in }))
        var previous: URL?
        for (stage, stageIndex) in plan.ernieStages().enumerated().map({ ($1, $0) }) {
            let run = try train(stage.name, "ERNIE-Tiny stage \(stageIndex + 1): \(stage.label)", stage.recipe,
                                start: previous.map { .initFrom($0) } ?? .fresh)
            previous = run.directory
            if stageIndex == 3 { results.add(.ernie, "ERNIE-Tiny's four stages", seed: 1, run) }
        }

        // 4. Self-distillation for further pre-training on one play.
        for seed in 1...size.seeds {
            let initial = out.appendingPathComponent("small-plain-s1")
            let further = try train("target-further-s\(seed)", "further pre-training on \(targetPlay), seed \(seed)",
                                    plan.target(seed: seed), start: .initFrom(initial))
            results.add(.selfDistillation, "further pre-training", seed: seed, further)
            results.add(.selfDistillation, "+ self-distillation", seed: seed,
                        try train("target-self-s\(seed)", "self-distillation on \(targetPlay), seed \(seed)",
                                  plan.distilled(plan.target(seed: seed), teacher: "target-further-s\(seed)") {
                                      ($0.softWeight, $0.hiddenWeight, $0.projectHidden) = (0, 1, false)
                                  }, start: .initFrom(initial)))
        }

        // 5. Growth: the small model grown into the large one by each method vs the large one from scratch.
        results.add(.growth, "from scratch", seed: 1, scratch)
        for (name, run) in [("small", "small-plain-s1"), ("large", "large-plain")] {
            let loaded = try loadCheckpoint(out.appendingPathComponent(run))
            results.flopsPerStep[name] = WeightSparsity.trainingFLOPs(model: loaded.config.model, parameters: loaded.model.parameterCount,
                                                                      sparseWeights: 0, fraction: 0,
                                                                      tokens: size.batchSize * size.context).dense
        }
        for method in GrowthMethod.allCases {
            let grown = try plan.grow(out.appendingPathComponent("small-plain-s1"), method: method,
                                      into: out.appendingPathComponent("grown-\(method.rawValue)"))
            results.add(.growth, "grown by \(method.rawValue)", seed: 1,
                        try train("grow-\(method.rawValue)", "large from the small one (\(method.rawValue))",
                                  plan.evaluatedOnTheWholeSplit(large), start: .initFrom(grown)))
        }

        // bert2BERT's two-stage pre-training after aki (the paper's full method): sub-models of the bottom blocks for
        // the first quarter, each adding the small model's depth, then the whole model.
        var twoStage = plan.evaluatedOnTheWholeSplit(large)
        (twoStage.twoStage.steps, twoStage.twoStage.blockLayers) = (size.largeSteps / 4, size.small.layers)
        let arm = "grown by aki + two-stage"
        results.add(.growth, arm, seed: 1, try train("grow-aki-two-stage", "large from the small one (aki), two-stage",
                                                     twoStage, start: .initFrom(out.appendingPathComponent("grown-aki"))))
        results.stepCosts[arm] = try plan.stepCosts(twoStage, model: out.appendingPathComponent("large-plain"))

        // 6. SPDF: sparse pre-training, then dense; 0 % is the same schedule restart without masks.
        for fraction in [Float(0), 0.5, 0.75] {
            for seed in fraction == 0.5 ? Array(1...size.seeds) : [1] {
                let tag = "spdf-\(Int(fraction * 100))"
                let sparse = try train("\(tag)-sparse-s\(seed)", "\(Int(fraction * 100)) % sparse pre-training, seed \(seed)",
                                       plan.sparse(fraction: fraction, seed: seed))
                let dense = try train("\(tag)-dense-s\(seed)", "then dense, seed \(seed)", plan.dense(seed: seed),
                                      start: .initFrom(sparse.directory))
                results.add(.spdf, "\(Int(fraction * 100)) % sparse → dense", seed: seed, dense, flops: sparse.records)
            }
        }
        results.machine = StudyMachine.description(cpu: cpu, loadBefore: loadBefore, loadAfter: StudyMachine.loadAverage())
        // The runs' own wall times (a reused run keeps the time it took), so that a rerun with --reuse reports the study.
        results.minutes = runner.runs.reduce(0) { $0 + $1.seconds } / 60
        results.wallMinutes = Date().timeIntervalSince(started) / 60
        results.reusedRuns = runner.reusedRuns
        try StudyTransferReport.write(results, out: out, resultsFile: resultsFile)
        return results
    }

    /// The four tokenized corpora, each prepared once per content of its inputs (`StudyCorpora.prepare`).
    func prepareCorpora(console: ConsoleProgress) throws {
        let plays = StudyCorpora.plays
        func prepare(_ name: String, _ inputs: [URL], split: CorpusPreparation.Split, tokenizer: CorpusPreparation.TokenizerSource) throws {
            try StudyCorpora.prepare(corpus(name), inputs: inputs, split: split, tokenizer: tokenizer, console: console)
        }
        let modern = try plays(text)
        try prepare("gpt", modern, split: .files(valPlays), tokenizer: .train(vocabularySize: size.vocabulary, minFrequency: 2, specialTokens: ["<|endoftext|>"]))
        try prepare("bert", modern, split: .files(valPlays),
                    tokenizer: .train(vocabularySize: size.vocabulary, minFrequency: 2, specialTokens: ["<|endoftext|>", "[MASK]"]))
        try prepare("bert-folio", try plays(folioText), split: .files(valPlays), tokenizer: .file(corpus("bert").appendingPathComponent("tokenizer.json")))
        // The target play's lines: the first 85 % to train on, the rest held out.
        let play = text.appendingPathComponent("\(targetPlay).txt")
        let lines = try String(contentsOf: play, encoding: .utf8).components(separatedBy: "\n")
        let cut = lines.count * 85 / 100
        let folder = corpora.appendingPathComponent("target-text")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let parts = [("\(targetPlay)-train.txt", lines[..<cut]), ("\(targetPlay)-val.txt", lines[cut...])]
        for (name, part) in parts { try part.joined(separator: "\n").write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        try prepare("target", parts.map { folder.appendingPathComponent($0.0) }, split: .files(["\(targetPlay)-val"]),
                    tokenizer: .file(corpus("gpt").appendingPathComponent("tokenizer.json")))
    }
}
