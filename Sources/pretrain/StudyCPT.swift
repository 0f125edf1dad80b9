import ArgumentParser
import Foundation
import Studies

/// `pretrain study`: studies that can be rerun, each writing its section of docs/RESULTS.md.
struct Study: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "Rerunnable studies that write their measured numbers and figures into docs/RESULTS.md.",
        subcommands: [StudyCPTCommand.self, StudyTransferCommand.self, StudyDataCommand.self])
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
        for claim in summary.claims { print("\(claim.holds ? "holds" : "DOES NOT HOLD"): \(claim.statement) (\(claim.evidence))") }
        if let median = summary.backtestMedianError {
            print(String(format: "backtest: median |error| %.2f %% over %d curves", 100 * median, summary.backtestCount))
        }
        print("results: \(study.out.appendingPathComponent("results.json").path), section written to \(results)")
    }
}

/// `pretrain study transfer [--quick] [--seeds N] [--out DIR] [--results FILE]`: the knowledge-transfer study
/// (`StudyTransfer` in the Studies module).
struct StudyTransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Knowledge-transfer study on Shakespeare: soft-label KD, SALT (with its data selection), ERNIE-Tiny's stages, self-distillation for further pre-training, bert2BERT growth and SPDF.",
        discussion: """
            Tokenizes the plays itself into OUT/corpora (a BPE for GPT, one with [MASK] for BERT, the Folio with the \
            BERT tokenizer, and one play split 85/15 as the small target set), trains every arm in OUT/<arm> and writes \
            OUT/results.json, its section of the results file (replaced on rerun) and figures (results/transfer-*.svg).
            """)

    @Flag(help: "The tiny CI size: every arm on 1–2-layer models for a few steps.")
    var quick = false

    @Option(help: "Seeds of the arms measured over seeds (KD students, self-distillation, SPDF 50 %).")
    var seeds: Int?

    @Option(help: "Directory of the runs (one per arm), the corpora and results.json.")
    var out = "runs/study-transfer"

    @OptionGroup var common: StudyCommonOptions

    func validate() throws {
        if let seeds, seeds < 1 { throw ValidationError("--seeds must be ≥ 1") }
    }

    func run() throws {
        var size: StudyTransferSize = quick ? .quick : .standard
        if let seeds { size.seeds = seeds }
        let study = StudyTransfer(size: size, text: URL(fileURLWithPath: common.text), folioText: URL(fileURLWithPath: common.folio),
                                  out: URL(fileURLWithPath: out), resultsFile: URL(fileURLWithPath: common.results), reuse: common.reuse,
                                  command: (["pretrain"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
                                  cpu: cpuModelName())
        let interrupt = InterruptFlag()
        let measured = try study.run(shouldStop: { interrupt.isSet })
        for claim in StudyTransferReport.claims(measured) {
            print("\(claim.holds ? "holds" : "DOES NOT HOLD"): \(claim.statement) (\(claim.evidence))")
        }
        print("results: \(study.out.appendingPathComponent("results.json").path), section written to \(common.results)")
    }
}

/// `pretrain study data [--quick] [--sources DIR] [--out DIR] [--results FILE]`: the data-centric study of issue 21
/// (`StudyData` in the Studies module).
struct StudyDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Data-centric study: conditional training vs MLE vs filtering on the offensive fortunes, Skill-it vs static mixtures, and data age on Shakespeare's two spellings.",
        discussion: """
            Reads the sources `make sources` prepares (data/sources: fortunes, manual pages, CPython, Shakespeare), \
            tokenizes what it needs into OUT/corpora, trains every arm in OUT/<arm> and writes OUT/results.json and its \
            section of the results file (replaced on rerun), with the skills graph as results/data-skills-graph.svg.
            """)

    @Flag(help: "The tiny CI size: every question on a 1-layer model for a few steps.")
    var quick = false

    @Option(help: "Seeds of the conditional-training arms and of the uniform and Skill-it mixtures.")
    var seeds: Int?

    @Option(help: "The sources directory of `make sources`.")
    var sources = "data/sources"

    @Option(help: "Directory of the runs (one per arm), the corpora and results.json.")
    var out = "runs/study-data"

    @OptionGroup var common: StudyCommonOptions

    func validate() throws {
        if let seeds, seeds < 1 { throw ValidationError("--seeds must be ≥ 1") }
    }

    func run() throws {
        var size: StudyDataSize = quick ? .quick : .standard
        if let seeds { size.seeds = seeds }
        let study = StudyData(size: size, sources: URL(fileURLWithPath: sources), text: URL(fileURLWithPath: common.text),
                              folioText: URL(fileURLWithPath: common.folio), out: URL(fileURLWithPath: out),
                              resultsFile: URL(fileURLWithPath: common.results), reuse: common.reuse,
                              command: (["pretrain"] + CommandLine.arguments.dropFirst()).joined(separator: " "), cpu: cpuModelName())
        let interrupt = InterruptFlag()
        let measured = try study.run(shouldStop: { interrupt.isSet })
        for claim in StudyDataReport.claims(measured) {
            print("\(claim.holds ? "holds" : "DOES NOT HOLD"): \(claim.statement) (\(claim.evidence))")
        }
        print("results: \(study.out.appendingPathComponent("results.json").path), section written to \(common.results)")
    }
}

/// What the transfer and data studies share: where their section goes, the two editions of the plays, and reuse.
struct StudyCommonOptions: ParsableArguments {
    @Option(help: "Markdown file whose section is written (replaced on rerun); figures go to results/ beside it.")
    var results = "docs/RESULTS.md"

    @Option(help: "The plays in modern spelling (plain-text files).")
    var text = "data/shakespeare"

    @Option(help: "The plays in First Folio spelling.")
    var folio = "data/shakespeare-folio"

    @Flag(help: "Keep runs in --out that already finished with the same recipe (continue an interrupted study).")
    var reuse = false
}
