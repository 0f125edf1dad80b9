import ArgumentParser
import Foundation
import Studies

/// `pretrain study downstream [--quick] [--sources DIR] [--out DIR] [--results FILE]`: the downstream study
/// (`StudyDownstream` in the Studies module).
struct StudyDownstreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "downstream",
        abstract: "Downstream study: the task suite for a GPT and a BERT (and both continued on the tasks' texts), PCP vs TAPT, self-training, and same-loss-different-flatness.",
        discussion: """
            Prepares the task suite into OUT/tasks (the plays' three tasks; the four of data/sources when it exists), \
            tokenizes what it needs into OUT/corpora, trains every run in OUT/<run>, keeps every fine-tuning in \
            OUT/finetune and writes OUT/results.json and its section of the results file (replaced on rerun).
            """)

    @Flag(help: "The tiny CI size: every part on a 1-layer model for a few steps.")
    var quick = false

    @Option(help: "Seeds of every fine-tuning and few-shot sample.")
    var seeds: Int?

    @Option(help: "The sources directory of `make sources` (its tasks are left out when it is missing).")
    var sources = "data/sources"

    @Option(help: "Directory of the runs, the tasks, the corpora, the fine-tunings and results.json.")
    var out = "runs/study-downstream"

    @OptionGroup var common: StudyCommonOptions

    @Flag(name: .customLong("report-only"), help: "Rewrite the section and figures from OUT/results.json without running anything.")
    var reportOnly = false

    func validate() throws {
        if let seeds, seeds < 1 { throw ValidationError("--seeds must be ≥ 1") }
    }

    func run() throws {
        if reportOnly {
            let out = URL(fileURLWithPath: self.out)
            let measured = try StudyDownstreamReport.rewrite(out: out, resultsFile: URL(fileURLWithPath: common.results))
            StudyDownstreamReport.claims(measured).forEach { print($0.consoleLine) }
            print("section written to \(common.results) from \(out.appendingPathComponent("results.json").path)")
            return
        }
        var size: StudyDownstreamSize = quick ? .quick : .standard
        if let seeds { size.seeds = seeds }
        let study = StudyDownstream(size: size, text: URL(fileURLWithPath: common.text), sources: URL(fileURLWithPath: sources),
                                    out: URL(fileURLWithPath: out), resultsFile: URL(fileURLWithPath: common.results), reuse: common.reuse,
                                    command: (["pretrain"] + CommandLine.arguments.dropFirst()).joined(separator: " "), cpu: cpuModelName())
        let interrupt = InterruptFlag()
        let measured = try study.run(shouldStop: { interrupt.isSet })
        StudyDownstreamReport.claims(measured).forEach { print($0.consoleLine) }
        print("results: \(study.out.appendingPathComponent("results.json").path), section written to \(common.results)")
    }
}
