import ArgumentParser
import Foundation
import Studies

/// `pretrain study`: studies that can be rerun, each writing its section of docs/RESULTS.md.
struct Study: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "Rerunnable studies that write their measured numbers and figures into docs/RESULTS.md.",
        subcommands: [StudyCPTCommand.self, StudyTransferCommand.self, StudyDataCommand.self, StudyDownstreamCommand.self, StudyComposeCommand.self])
}

/// `pretrain study cpt [--quick] [--out DIR] [--results FILE]`: the continual pre-training study of issue 5
/// (`StudyCPT` in the Studies module).
struct StudyCPTCommand: ParsableCommand {
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
        let study = StudyCPT(size: quick ? .quick : .standard, upstream: upstream, downstream: downstream,
                             out: URL(fileURLWithPath: out), resultsFile: URL(fileURLWithPath: results), reuse: reuse,
                             command: (["pretrain"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
                             cpu: cpuModelName())
        let interrupt = InterruptFlag()
        let summary = try study.run(shouldStop: { interrupt.isSet })
        for claim in summary.claims { print(claim.consoleLine) }
        if let median = summary.backtestMedianError {
            print(String(format: "backtest: median |error| %.2f %% over %d curves", 100 * median, summary.backtestCount))
        }
        print("results: \(study.out.appendingPathComponent("results.json").path), section written to \(results)")
    }
}
