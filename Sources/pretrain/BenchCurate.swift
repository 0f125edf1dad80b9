import ArgumentParser
import Curation
import Foundation

/// `pretrain bench curate`: single-threaded throughput of a curation pipeline, end to end (reading and parsing the
/// JSONL, every step's passes and spools, writing curated.jsonl, stats.json and the report). The inputs' texts are cut
/// into passages of about `--document-words` words at line ends and written `--copies` times into a temporary JSONL
/// file, each later copy with one word changed per passage, so exact dedup keeps them and near dedup has clusters
/// to find, as in a crawl. Prints one JSON line: MB/s of text in, overall and per step.
struct BenchCurate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curate", abstract: "Time a curation pipeline over a corpus, single-threaded; prints one JSON line.")

    @Argument(help: "Text files or directories of .txt/.jsonl files.") var inputs: [String] = ["data/shakespeare"]
    @Option(help: "The pipeline file.") var pipeline = "pipelines/curate-example.yaml"
    @Option(name: .customLong("document-words"), help: "Words per passage (whole lines).") var documentWords = 200
    @Option(help: "Copies of the corpus (each later one with a word changed per passage).") var copies = 4
    @Option(help: "Timed runs (the median is reported).") var repeats = 3

    func run() throws {
        guard documentWords >= 1, copies >= 1, repeats >= 1 else {
            throw ValidationError("--document-words, --copies and --repeats must be ≥ 1")
        }
        var passages: [String] = []
        _ = try DocumentInput(paths: inputs).forEach { document in
            var lines: [Substring] = [], words = 0
            for line in document.text.split(separator: "\n", omittingEmptySubsequences: false) {
                lines.append(line)
                words += line.split(separator: " ").count
                if words >= documentWords {
                    passages.append(lines.joined(separator: "\n"))
                    (lines, words) = ([], 0)
                }
            }
            if words > 0 { passages.append(lines.joined(separator: "\n")) }
        }
        guard !passages.isEmpty else { throw ValidationError("no text found in \(inputs.joined(separator: ", "))") }

        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pretrain-bench-curate-\(getpid())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let corpus = root.appendingPathComponent("corpus.jsonl")
        var file: [UInt8] = []
        for copy in 0..<copies {
            for (number, passage) in passages.enumerated() {
                var text = passage
                if copy > 0, let range = nthWord(passage, (number + copy * 7) % 50) { text.replaceSubrange(range, with: "copy\(copy)") }
                CurationDocument(text: text, meta: ["copy": .number(Double(copy))]).appendJSONLine(to: &file)
            }
        }
        try Data(file).write(to: corpus)

        let steps = try CurationPipeline.load(pipeline)   // checked once; each run gets fresh steps
        var results: [(seconds: Double, summary: CurationSummary)] = []
        for repeatNumber in 0..<repeats {
            var run = CurationRun(input: try DocumentInput(paths: [corpus.path]), pipeline: try CurationPipeline.load(pipeline),
                                  output: root.appendingPathComponent("out\(repeatNumber)"))
            run.overwrite = true
            let start = DispatchTime.now().uptimeNanoseconds
            let summary = try run.run()
            results.append((Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, summary))
        }
        let (seconds, summary) = results.sorted { $0.seconds < $1.seconds }[results.count / 2]
        let textBytes = summary.inputBySource.values.reduce(0) { $0 + $1.bytes }
        func number(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
        let perStep = summary.steps.map { step in
            "\"\(step.position)_\(step.kind)\": {\"seconds\": \(number(step.seconds, 4)), "
                + "\"mb_per_s\": \(number(Double(step.total.bytesIn) / max(step.seconds, 1e-9) / 1e6, 1)), \"kept\": \(step.total.documentsKept)}"
        }
        print("{\"impl\": \"swift-pretrain\", \"pipeline\": \(MetaValue.string(pipeline).jsonText), \"steps\": \(steps.steps.count), "
              + "\"documents\": \(summary.input.documents), \"kept\": \(summary.outputDocuments), \"text_bytes\": \(textBytes), "
              + "\"file_bytes\": \(file.count), \"seconds\": \(number(seconds, 4)), \"mb_per_s\": \(number(Double(textBytes) / seconds / 1e6, 2)), "
              + "\"threads\": 1, \"per_step\": {\(perStep.joined(separator: ", "))}}")
    }

    /// The range of the `n`th whitespace-separated word of `text` (nil when it has fewer).
    private func nthWord(_ text: String, _ n: Int) -> Range<String.Index>? {
        var count = 0, index = text.startIndex
        while index < text.endIndex {
            while index < text.endIndex, text[index].isWhitespace { index = text.index(after: index) }
            let start = index
            while index < text.endIndex, !text[index].isWhitespace { index = text.index(after: index) }
            if start < index {
                if count == n { return start..<index }
                count += 1
            }
        }
        return nil
    }
}
