import ArgumentParser
import Curation
import CurationScoring
import Foundation

/// `pretrain curate [run] IN... --pipeline P.yaml --out DIR`, `pretrain curate train-langid …`.
struct Curate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curate", abstract: "Curate text documents before the tokenizer; train the classifiers its steps use.",
        subcommands: [CurateRun.self, CurateTrainLangID.self], defaultSubcommand: CurateRun.self)
}

/// `pretrain curate IN... --pipeline P.yaml --out DIR`: text documents through a curation pipeline (docs/CURATION.md).
struct CurateRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Clean, deduplicate and filter text documents through a YAML pipeline of steps.",
        discussion: """
            Inputs: .jsonl files (one document a line: {"text": "...", "meta": {...}}; other fields go into meta), \
            .txt files (one document each) or directories of them. Every document gets meta.source, its file's name, \
            unless it has one. Steps (docs/CURATION.md): \(ModelScorers.register().joined(separator: ", ")).
            Writes DIR/curated.jsonl (kept documents, meta keys sorted: the same input and pipeline give the same bytes), \
            DIR/stats.json (per step and source: documents and bytes in and kept, drops per reason), DIR/report.html \
            (the funnel and histograms of meta values) and what steps add (near_dup_clusters.jsonl). The output is \
            written into a temporary directory beside DIR and renamed at the end, so a failed run leaves nothing; an \
            existing non-empty DIR is refused unless --overwrite, and replaced only once the new one is complete.
            Example: pretrain curate data/shakespeare --pipeline pipelines/curate-example.yaml --out runs/curated
            """)

    @Argument(help: "Input .jsonl/.txt files or directories of them.")
    var inputs: [String]

    @Option(help: "The pipeline file (YAML: steps: - kind: ...).")
    var pipeline: String

    @Option(help: "Output directory.")
    var out: String

    @Flag(help: "Replace an existing non-empty output directory (after the new output is complete).")
    var overwrite = false

    @Option(name: .customLong("split-by"),
            help: ArgumentHelp("Also write the kept documents to DIR/by-FIELD/<value>.jsonl, one file per value of this meta field (sources to balance in a mixture).", valueName: "FIELD"))
    var splitBy: String?

    @Flag(name: .customLong("skip-bad-lines"),
          help: "Skip and count malformed JSONL lines (and .txt files that are not UTF-8) instead of stopping at the first.")
    var skipBadLines = false

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("no input files") }
    }

    func run() throws {
        ModelScorers.register()
        let input = try DocumentInput(paths: inputs, skipBadLines: skipBadLines)
        let steps = try CurationPipeline.load(pipeline)
        var run = CurationRun(input: input, pipeline: steps, output: URL(fileURLWithPath: out))
        run.overwrite = overwrite
        run.splitBy = splitBy
        run.log = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        let summary = try run.run()
        print(summary.table)
        if summary.input.badLines > 0 {
            print("skipped \(summary.input.badLines) bad line\(summary.input.badLines == 1 ? "" : "s") "
                  + "(first: \(summary.input.badLineExamples.first ?? ""); all counted in stats.json)")
        }
        let inputBytes = summary.inputBySource.values.reduce(0) { $0 + $1.bytes }
        print(String(format: "kept %d of %d documents (%.2f of %.2f MB) in %.1f s; wrote ",
                     summary.outputDocuments, summary.input.documents, Double(summary.outputBytes) / 1e6,
                     Double(inputBytes) / 1e6, summary.seconds) + out)
    }
}
