import ArgumentParser
import Foundation
import Tensors
import TextData
import Training

/// `pretrain study`: studies that can be rerun, each writing its section of docs/RESULTS.md.
struct Study: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "Rerunnable studies that write their measured numbers and figures into docs/RESULTS.md.",
        subcommands: [StudyCPT.self])
}

/// `pretrain study cpt [--quick] [--out DIR] [--results FILE]`: the continual pre-training study of issue 5.
struct StudyCPT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpt",
        abstract: "Continual pre-training study: upstream Shakespeare, then the First Folio with rewarming, replay, schedules and a subset.",
        discussion: """
            Pre-trains a small GPT on the upstream corpus, then continues it on the downstream corpus in arms: no \
            rewarm vs rewarm to three peaks; replay 0/5/25 %; repeated cosine vs the infinite schedule with an anneal \
            branch (equal tokens); a multi-epoch subset vs one pass. Each arm's upstream and downstream val loss, \
            forgetting, stability gap and learning-curve backtest go into OUT/results.json and a section of the \
            results file (replaced on rerun), with SVG figures beside it (results/cpt-*.svg).
            Both corpora must be tokenized with one tokenizer, e.g.
              pretrain tokenize --train-vocab 4096 --val-files hamlet,tempest --out data/shakespeare-4096 data/shakespeare
              pretrain tokenize --tokenizer data/shakespeare-4096/tokenizer.json --val-files hamlet,tempest \\
                  --out data/shakespeare-folio-4096 data/shakespeare-folio
            """)

    @Flag(help: "The tiny CI size (a few minutes): a 2-layer d=64 GPT, a few hundred steps per run.")
    var quick = false

    @Option(help: "Directory of the runs (one per arm) and results.json.")
    var out = "runs/study-cpt"

    @Option(help: "Markdown file whose 'Continual pre-training (issue 5)' section is written; figures go to results/ beside it.")
    var results = "docs/RESULTS.md"

    @Option(help: "Prepared upstream corpus (pretrain tokenize --out).")
    var upstream = "data/shakespeare-4096"

    @Option(help: "Prepared downstream corpus, tokenized with the upstream corpus' tokenizer.")
    var downstream = "data/shakespeare-folio-4096"

    @Flag(help: "Keep runs in --out that already finished with the same recipe (continue an interrupted study).")
    var reuse = false

    func run() throws {
        let corpora = try Self.checkCorpora(upstream: upstream, downstream: downstream)
        let size = quick ? StudyCPTSize.quick : StudyCPTSize.standard
        let plan = StudyCPTPlan(size: size, upstreamCorpus: upstream, downstreamCorpus: downstream)
        let outURL = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        let loadBefore = Self.loadAverage()
        let studyStart = Date()
        let interrupt = InterruptFlag()
        var runner = StudyCPTRunner(out: outURL, reuse: reuse, interrupt: interrupt)

        print("study cpt (\(size.name)): \(plan.arms.count) runs into \(outURL.path); load average \(loadBefore)")
        let upstreamArm = plan.arms[0]
        let upstreamRun = try runner.run(upstreamArm, start: .fresh, index: 1, of: plan.arms.count)
        let reference = try StudyCPTMeasure.reference(records: upstreamRun.records, seconds: upstreamRun.seconds,
                                                      backtest: StudyBacktester.backtest(runDirectory: upstreamRun.directory))
        var armResults: [StudyCPTArmResult] = []
        for (index, arm) in plan.arms.enumerated().dropFirst() {
            let run = try runner.run(arm, start: .initFrom(upstreamRun.directory), index: index + 1, of: plan.arms.count)
            armResults.append(try StudyCPTMeasure.arm(arm, records: run.records, reference: reference, seconds: run.seconds,
                                                      backtest: StudyBacktester.backtest(runDirectory: run.directory,
                                                                                         priorRun: upstreamRun.directory)))
            if let anneal = arm.anneal {
                let branch = try runner.anneal(run.directory, from: anneal.from, steps: anneal.steps)
                var annealed = arm
                annealed.name += "_anneal"
                annealed.label = "infinite + anneal from step \(anneal.from) (\(anneal.steps) steps)"
                let records = run.records.filter { $0.step <= anneal.from } + branch.records
                armResults.append(try StudyCPTMeasure.arm(annealed, records: records, reference: reference,
                                                          seconds: run.seconds + branch.seconds, backtest: nil))
            }
        }

        let backtests = ([reference.backtest] + armResults.map(\.backtest)).compactMap { $0 }
        let errors = backtests.map { abs($0.relativeError) }.sorted()
        let median = errors.isEmpty ? nil : (errors[(errors.count - 1) / 2] + errors[errors.count / 2]) / 2
        let summary = StudyCPTResults(
            size: size.name, command: Self.commandLine(),
            machine: Self.machine(loadBefore: runner.runs.first?.loadBefore ?? loadBefore,
                                  loadAfter: runner.runs.last?.loadAfter ?? Self.loadAverage()),
            date: Self.timestamp(studyStart), runSeconds: runner.runs.reduce(0) { $0 + $1.seconds }, reusedRuns: runner.reusedRuns,
            design: Self.design(plan, downstreamTrainTokens: corpora.downstream.trainTokens), reference: reference, arms: armResults,
            claims: StudyCPTClaim.judge(armResults), backtestMedianError: median, backtestCount: backtests.count)
        try Self.write(summary, out: outURL, resultsFile: URL(fileURLWithPath: results))
        for claim in summary.claims { print("\(claim.holds ? "holds" : "DOES NOT HOLD"): \(claim.statement) (\(claim.evidence))") }
        if let median { print(String(format: "backtest: median |error| %.2f %% over %d curves", 100 * median, backtests.count)) }
        print("results: \(outURL.appendingPathComponent("results.json").path), section written to \(results)")
    }

    static func write(_ summary: StudyCPTResults, out: URL, resultsFile: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(summary).write(to: out.appendingPathComponent("results.json"), options: .atomic)
        let directory = resultsFile.deletingLastPathComponent()
        let plots = try StudyCPTReport.writePlots(summary, into: directory.appendingPathComponent("results"))
        let linked = plots.map { ($0.group, $0.files.map { "results/" + $0 }) }
        let existing = (try? String(contentsOf: resultsFile, encoding: .utf8)) ?? ""
        let document = StudyCPTReport.replacingSection(in: existing, with: StudyCPTReport.section(summary, plots: linked))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try document.write(to: resultsFile, atomically: true, encoding: .utf8)
    }

    /// Both corpora prepared, and with the same tokenizer (token ids must mean the same thing in both).
    static func checkCorpora(upstream: String, downstream: String) throws -> (upstream: PreparedCorpus, downstream: PreparedCorpus) {
        var corpora: [PreparedCorpus] = []
        var tokenizers: [Data] = []
        for (role, path) in [("upstream", upstream), ("downstream", downstream)] {
            let directory = URL(fileURLWithPath: path)
            guard FileManager.default.fileExists(atPath: directory.appendingPathComponent(PreparedCorpus.manifestName).path) else {
                throw ValidationError("--\(role) \(path): not a prepared corpus (no corpus.json); prepare it with pretrain "
                    + "tokenize (see pretrain study cpt --help), or run make study-cpt")
            }
            let corpus = try PreparedCorpus(directory: directory)
            guard let tokenizer = try? Data(contentsOf: corpus.tokenizerURL) else {
                throw ValidationError("--\(role) \(path): no \(corpus.tokenizerURL.lastPathComponent) beside corpus.json")
            }
            corpora.append(corpus)
            tokenizers.append(tokenizer)
        }
        guard tokenizers[0] == tokenizers[1] else {
            throw ValidationError("--upstream \(upstream) and --downstream \(downstream) were tokenized with different "
                + "tokenizers; prepare the downstream one with --tokenizer \(upstream)/tokenizer.json")
        }
        return (corpora[0], corpora[1])
    }

    static func design(_ plan: StudyCPTPlan, downstreamTrainTokens: Int) -> String {
        let size = plan.size
        let upstreamTokens = size.upstreamSteps * size.tokensPerStep, armTokens = size.armSteps * size.tokensPerStep
        return "\(size.layers)-layer d=\(size.dModel) GPT-2 (\(size.heads) heads, context \(size.context), batches of "
            + "\(size.batchSize) windows). Upstream: \(size.upstreamSteps) steps (\(upstreamTokens / 1000)k tokens) on "
            + "`\(plan.upstreamCorpus)`, cosine \(StudyCPTPlan.rate(size.upstreamPeak)) → \(StudyCPTPlan.rate(size.upstreamMin)). "
            + "Every arm: \(size.armSteps) steps (\(armTokens / 1000)k tokens) on `\(plan.downstreamCorpus)` from the "
            + "upstream checkpoint; rewarm arms warm up over \(size.armWarmup) steps, then decay (cosine) to "
            + "\(StudyCPTPlan.rate(size.upstreamMin)); replay arms rewarm to 1×; the infinite arm cools down over "
            + "\(size.infiniteCooldown) steps to its plateau and its anneal branch decays linearly over the last "
            + "\(size.annealSteps) steps; the one-pass arms read random windows of all \(downstreamTrainTokens / 1000)k "
            + "downstream train tokens (\(String(format: "%.2f", Double(armTokens) / Double(max(1, downstreamTrainTokens)))) "
            + "of an epoch), the subset arm cycles the first \(size.subsetTokens / 1000)k (4 epochs). Evaluated every "
            + "\(size.armEvalEvery) steps on \(size.evalBatches) batches of each val split."
    }

    static func commandLine() -> String {
        (["pretrain"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
    }

    static func machine(loadBefore: String, loadAfter: String) -> String {
        "\(cpuModelName()), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(Runtime.threads) threads, "
            + "\(Matmul.backend.name); load average \(loadBefore) when the first run started, \(loadAfter) when the last ended "
            + "(1/5/15 min; other work on the machine slows the study, it does not change its numbers)"
    }

    static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return text.split(separator: " ").prefix(3).joined(separator: " / ")
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }
}
