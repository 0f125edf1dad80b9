import ArgumentParser
import Foundation
import Studies

/// `pretrain study compose [--quick] [--seeds N] [--out DIR] [--results FILE]`: the composition study (`StudyCompose`).
struct StudyComposeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compose",
        abstract: "Composition study on Shakespeare: EFT up-scaling with a β sweep, residual transfer, merging (average, task arithmetic, TIES).",
        discussion: """
            Tokenizes three domains into OUT/corpora (modern plays without the histories, the same in Folio spelling, \
            the modern histories), trains a large and a small base and the small models' continuations in OUT/<run>, \
            writes merges to OUT/merges, scores every model and composition on each domain's val split, and writes \
            OUT/results.json and its section of the results file (replaced on rerun).
            """)

    @Flag(help: "The tiny CI size: every part on 1–2-layer models for a few steps.")
    var quick = false

    @Option(help: "Seeds of the small models.")
    var seeds: Int?

    @Option(help: "Directory of the runs, merges, corpora and results.json.")
    var out = "runs/study-compose"

    @OptionGroup var common: StudyCommonOptions

    func validate() throws {
        if let seeds, seeds < 1 { throw ValidationError("--seeds must be ≥ 1") }
    }

    func run() throws {
        var size: StudyComposeSize = quick ? .quick : .standard
        if let seeds { size.seeds = seeds }
        let study = StudyCompose(size: size, text: URL(fileURLWithPath: common.text), folioText: URL(fileURLWithPath: common.folio),
                                 out: URL(fileURLWithPath: out), resultsFile: URL(fileURLWithPath: common.results), reuse: common.reuse,
                                 command: (["pretrain"] + CommandLine.arguments.dropFirst()).joined(separator: " "), cpu: cpuModelName())
        let interrupt = InterruptFlag()
        let measured = try study.run(shouldStop: { interrupt.isSet })
        StudyComposeReport.claims(measured).forEach { print($0.consoleLine) }
        print("results: \(study.out.appendingPathComponent("results.json").path), section written to \(common.results)")
    }
}
