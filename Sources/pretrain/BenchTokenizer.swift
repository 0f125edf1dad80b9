import ArgumentParser
import Foundation
import TextData

/// `pretrain bench tokenizer`: single-threaded encode throughput of a tokenizer.json over a text corpus, timed
/// around `encode` only (files are read first). bench/tokenizer_reference.py times Hugging Face `tokenizers` on
/// the same files with the same tokenizer.json.
struct BenchTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "Time single-threaded tokenizer encoding of a corpus; prints one JSON line.")

    @Option(help: "A Hugging Face tokenizer.json (e.g. data/shakespeare-4096/tokenizer.json from `make demo`).")
    var tokenizer: String
    @Argument(help: "Text files or directories of .txt/.jsonl files.") var inputs: [String] = ["data/shakespeare"]
    @Option(help: "Passes over the corpus (the median is reported).") var repeats: Int = 5

    func run() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be ≥ 1") }
        let encoder = try loadTokenizer(URL(fileURLWithPath: tokenizer))
        let files = TextDocuments.expand(inputs.map { URL(fileURLWithPath: $0) })
        var documents: [String] = []
        for file in files {
            let read = TextDocuments.read(file)
            if let problem = read.problem, read.documents.isEmpty { throw ValidationError("\(file.path): \(problem)") }
            documents += read.documents
        }
        guard !documents.isEmpty else { throw ValidationError("no text found in \(inputs.joined(separator: ", "))") }
        let bytes = documents.reduce(0) { $0 + $1.utf8.count }
        var seconds: [Double] = [], tokens = 0
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            tokens = documents.reduce(0) { $0 + encoder.encode($1).count }
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let median = seconds.sorted()[seconds.count / 2]
        print(String(format: "{\"impl\": \"swift-pretrain\", \"files\": %d, \"bytes\": %d, \"tokens\": %d, "
                     + "\"seconds\": %.4f, \"mb_per_s\": %.2f, \"threads\": 1}",
                     files.count, bytes, tokens, median, Double(bytes) / median / 1e6))
    }
}
