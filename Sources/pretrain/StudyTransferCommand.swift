import ArgumentParser
import Foundation
import Studies

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
        StudyTransferReport.claims(measured).forEach { print($0.consoleLine) }
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
