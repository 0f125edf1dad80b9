import ArgumentParser
import Foundation
import Studies

/// `pretrain study data [--quick] [--sources DIR] [--out DIR] [--results FILE]`: the data-centric study
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
        StudyDataReport.claims(measured).forEach { print($0.consoleLine) }
        print("results: \(study.out.appendingPathComponent("results.json").path), section written to \(common.results)")
    }
}
