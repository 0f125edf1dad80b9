import ArgumentParser
import Foundation
import TextData

/// `pretrain tokenize`: text files → llm.c token shards + corpus.json + tokenizer.json (see `CorpusPreparation`).
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode text files into token shards (llm.c format) with a train/val split.",
        discussion: """
            A .txt file is one document; a .jsonl file holds one document per line (field "text"); a directory \
            stands for its .txt and .jsonl files. Each document is preceded by the end-of-text token. Empty or \
            unreadable files are reported and skipped.
            Example: pretrain tokenize --train-vocab 4096 --val-files hamlet,tempest --out data/corpus data/shakespeare
            """)

    @Option(help: "A Hugging Face tokenizer.json (byte-level BPE or WordPiece).")
    var tokenizer: String?

    @Option(name: .customLong("train-vocab"), help: "Instead of --tokenizer: train a byte-level BPE of this size on the train documents, saved as OUT/tokenizer.json.")
    var trainVocab: Int?

    @Option(name: .customLong("min-frequency"), help: "With --train-vocab: the least count of a pair to merge.")
    var minFrequency = 2

    @Option(name: .customLong("special-tokens"), help: "With --train-vocab: comma-separated special tokens, given the first ids.")
    var specialTokens = "<|endoftext|>"

    @Option(help: "Output directory.")
    var out: String

    @Option(name: .customLong("val-fraction"), help: "Every (1/F)-th document goes to validation (default 0.05).")
    var valFraction: Double?

    @Option(name: .customLong("val-files"), help: "Comma-separated files (paths or names, extension optional) that form the validation split.")
    var valFiles: String?

    @Option(name: .customLong("shard-tokens"), help: "Tokens per shard at most.")
    var shardTokens = 100_000_000

    @Argument(help: "Text (.txt), JSONL (.jsonl) files or directories.")
    var files: [String]

    func validate() throws {
        if (tokenizer == nil) == (trainVocab == nil) { throw ValidationError("give exactly one of --tokenizer and --train-vocab") }
        if valFraction != nil && valFiles != nil { throw ValidationError("give at most one of --val-fraction and --val-files") }
        if let trainVocab, trainVocab < 257 { throw ValidationError("--train-vocab must be at least 257 (256 bytes + end-of-text)") }
        if files.isEmpty { throw ValidationError("no input files") }
    }

    func run() throws {
        let split: CorpusPreparation.Split = valFiles.map { .files($0.split(separator: ",").map(String.init)) }
            ?? .fraction(valFraction ?? 0.05)
        let source: CorpusPreparation.TokenizerSource = trainVocab.map {
            .train(vocabularySize: $0, minFrequency: minFrequency,
                   specialTokens: specialTokens.split(separator: ",").map(String.init))
        } ?? .file(URL(fileURLWithPath: tokenizer!))
        var preparation = CorpusPreparation(inputs: files.map { URL(fileURLWithPath: $0) }, split: split, tokenizer: source)
        preparation.shardTokens = shardTokens
        preparation.log = { print($0) }
        let start = Date()
        let manifest = try preparation.run(into: URL(fileURLWithPath: out))
        let seconds = Date().timeIntervalSince(start)
        let megabytes = Double(manifest.trainBytes + manifest.valBytes) / 1e6
        print("train: \(manifest.trainDocuments) documents, \(manifest.trainBytes) bytes, \(manifest.trainTokens) tokens")
        print("val:   \(manifest.valDocuments) documents, \(manifest.valBytes) bytes, \(manifest.valTokens) tokens")
        if !manifest.skipped.isEmpty { print("skipped: \(manifest.skipped.count) (see corpus.json)") }
        print(String(format: "wrote %@ (vocab %d, end-of-text %d) in %.1f s, %.2f MB/s",
                     out, manifest.vocabSize, manifest.eotToken, seconds, megabytes / max(seconds, 1e-9)))
    }
}
