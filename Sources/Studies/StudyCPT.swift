import Foundation
import Training

/// The continual pre-training study of issue 5 (`pretrain study cpt`): a small GPT pre-trained on the upstream
/// corpus, then continued on the downstream corpus in arms (rewarming, replay, schedules, a multi-epoch subset).
/// Each arm's losses, forgetting, stability gap and learning-curve backtest go into OUT/results.json and a section
/// of the results file, with figures beside it.
public struct StudyCPT {
    public let plan: StudyCPTPlan
    /// One run directory per arm, and results.json.
    public let out: URL
    /// The Markdown file whose section is written; the figures go into results/ beside it.
    public let resultsFile: URL
    /// Keep runs in `out` that already finished with the same recipe (continue an interrupted study).
    public let reuse: Bool
    /// What the section quotes as the command that made it.
    public let command: String
    /// The processor's name for the section's machine line.
    public let cpu: String

    public init(size: StudyCPTSize, upstream: String, downstream: String, out: URL, resultsFile: URL, reuse: Bool = false,
                command: String, cpu: String) {
        plan = StudyCPTPlan(size: size, upstreamCorpus: upstream, downstreamCorpus: downstream)
        self.out = out
        self.resultsFile = resultsFile
        self.reuse = reuse
        self.command = command
        self.cpu = cpu
    }

    /// Trains (or reuses) every arm, measures them, and writes results.json, the section and the figures.
    /// `console` gets the progress lines and the trainers' live lines; `shouldStop` (asked after every step) ends
    /// the study with an error after a checkpoint, so that a rerun with `reuse` continues it.
    public func run(console: ConsoleProgress = ConsoleProgress(),
                    shouldStop: @escaping () -> Bool = { false }) throws -> StudyCPTResults {
        let corpora = try StudyCPTCorpora(upstream: plan.upstreamCorpus, downstream: plan.downstreamCorpus)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let loadBefore = StudyMachine.loadAverage()
        let studyStart = Date()
        var runner = StudyRunner(out: out, reuse: reuse, console: console, shouldStop: shouldStop)
        let arms = plan.arms

        console.message("study cpt (\(plan.size.name)): \(arms.count) runs into \(out.path); load average \(loadBefore)")
        let upstreamRun = try runner.run(arms[0], start: .fresh, index: 1, of: arms.count)
        let reference = try StudyCPTMeasure.reference(records: upstreamRun.records, seconds: upstreamRun.seconds,
                                                      backtest: StudyBacktester.backtest(runDirectory: upstreamRun.directory))
        var armResults: [StudyCPTArmResult] = []
        for (index, arm) in arms.enumerated().dropFirst() {
            let run = try runner.run(arm, start: .initFrom(upstreamRun.directory), index: index + 1, of: arms.count)
            armResults.append(try StudyCPTMeasure.arm(arm, records: run.records, reference: reference, seconds: run.seconds,
                                                      backtest: StudyBacktester.backtest(runDirectory: run.directory,
                                                                                         priorRun: upstreamRun.directory)))
            if let anneal = arm.anneal {
                let branch = try runner.anneal(run.directory, from: anneal.from, steps: anneal.steps)
                var annealed = arm
                annealed.name += "_anneal"
                annealed.label = "infinite + anneal from step \(anneal.from) (\(anneal.steps) steps)"
                // The anneal's curve continues the main run's from the branch step on.
                let records = run.records.filter { $0.step <= anneal.from } + branch.records
                armResults.append(try StudyCPTMeasure.arm(annealed, records: records, reference: reference,
                                                          seconds: run.seconds + branch.seconds, backtest: nil))
            }
        }

        let machine = StudyMachine.description(cpu: cpu, loadBefore: runner.runs.first?.loadBefore ?? loadBefore,
                                               loadAfter: runner.runs.last?.loadAfter ?? StudyMachine.loadAverage())
        let results = StudyCPTResults(
            size: plan.size.name, command: command, machine: machine, date: StudyMachine.timestamp(studyStart),
            runSeconds: runner.runs.reduce(0) { $0 + $1.seconds }, reusedRuns: runner.reusedRuns,
            design: plan.design(downstreamTrainTokens: corpora.downstream.trainTokens), reference: reference, arms: armResults)
        try StudyCPTReport.write(results, out: out, resultsFile: resultsFile)
        return results
    }
}
