import FileErrors
import Foundation

/// Text files → a `PreparedCorpus` directory: documents are encoded, each preceded by the end-of-text token,
/// and appended to train or val shards of at most `shardTokens` tokens.
///
/// The split is deterministic. `.files` sends whole files to val. `.fraction(f)` numbers the documents of all
/// inputs in order (files in the order given, lines of a JSONL file in order) and sends document i to val when
/// ⌊(i+1)·f⌋ > ⌊i·f⌋: every 1/f-th document, ⌊n·f⌋ of the first n.
public struct CorpusPreparation {
    public enum Split: Equatable {
        case fraction(Double)
        /// Paths or file names (with or without extension) of the val files.
        case files([String])
    }

    public enum TokenizerSource {
        /// A tokenizer.json, copied into the corpus directory.
        case file(URL)
        /// Train a byte-level BPE on the train documents and save it into the corpus directory.
        case train(vocabularySize: Int, minFrequency: Int, specialTokens: [String])
    }

    public var inputs: [URL]
    public var split: Split
    public var tokenizer: TokenizerSource
    public var shardTokens = 100_000_000
    /// Progress and warnings, one line each.
    public var log: (String) -> Void = { _ in }

    public init(inputs: [URL], split: Split, tokenizer: TokenizerSource) {
        self.inputs = inputs
        self.split = split
        self.tokenizer = tokenizer
    }

    /// Writes the corpus into `directory` (created if needed; shards and corpus.json of an earlier run there are
    /// replaced) and returns its manifest.
    @discardableResult
    public func run(into directory: URL) throws -> CorpusManifest {
        if case .fraction(let f) = split, !(0..<1).contains(f) {
            throw CorpusError("--val-fraction must be in [0, 1), got \(f)")
        }
        if shardTokens < 1 { throw CorpusError("shard size must be positive, got \(shardTokens)") }
        let survey = try surveyInputs(assignFiles())

        try FileError.createDirectory(directory)
        try removeEarlierOutput(in: directory)
        let tokenizer = try makeTokenizer(survey.trainer, in: directory)
        guard let eot = tokenizer.specialTokenID("<|endoftext|>") ?? tokenizer.specialTokenID("[SEP]") else {
            throw CorpusError("the tokenizer has no <|endoftext|> (or [SEP]) token to separate documents")
        }

        // Pass 2: encode into shards.
        let train = ShardWriter(split: "train", directory: directory, shardTokens: shardTokens, vocabularySize: tokenizer.vocabularySize)
        let val = ShardWriter(split: "val", directory: directory, shardTokens: shardTokens, vocabularySize: tokenizer.vocabularySize)
        var entries = [CorpusFile]()
        var documentIndex = 0
        var index = DocumentIndexWriter()
        for file in survey.usable {
            var entry = CorpusFile(file: file.url.relativePath, trainDocuments: 0, valDocuments: 0, bytes: 0)
            let read = TextDocuments.read(file.url)
            for (position, document) in read.documents.enumerated() {
                let toVal = isVal(document: documentIndex, file: file)
                documentIndex += 1
                let writer = toVal ? val : train
                let ids = tokenizer.encode(document)
                index.add(split: writer.split, start: writer.tokens, tokens: ids.count + 1, file: entry.file,
                              metadata: position < read.metadata.count ? read.metadata[position] : nil)
                try writer.append(document: ids, eot: eot, bytes: document.utf8.count)
                entry.bytes += document.utf8.count
                if toVal { entry.valDocuments += 1 } else { entry.trainDocuments += 1 }
            }
            entries.append(entry)
            log("\(file.url.relativePath): \(entry.trainDocuments + entry.valDocuments) documents, \(entry.bytes) bytes → \(splitDescription(entry))")
        }
        try train.finish()
        try val.finish()
        if val.documents == 0 { log("warning: the validation split is empty") }

        let manifest = CorpusManifest(
            tokenizer: "tokenizer.json", vocabSize: tokenizer.vocabularySize, eotToken: eot,
            trainTokens: train.tokens, valTokens: val.tokens, trainBytes: train.bytes, valBytes: val.bytes,
            trainDocuments: train.documents, valDocuments: val.documents, files: entries, skipped: survey.skipped)
        try index.write(to: directory.appendingPathComponent(PreparedCorpus.documentIndexName))
        let manifestURL = directory.appendingPathComponent(PreparedCorpus.manifestName)
        try FileError.wrap("write", path: manifestURL.path) { try Data(manifest.jsonText().utf8).write(to: manifestURL, options: .atomic) }
        return manifest
    }

    /// Pass 1: reads every file, keeps the usable ones, reports the rest, and feeds the train documents to the
    /// BPE trainer when the tokenizer is to be trained. Fails when no train document is left.
    private func surveyInputs(_ files: [(url: URL, val: Bool)])
        throws -> (usable: [(url: URL, val: Bool)], skipped: [SkippedFile], trainer: BPETrainer?) {
        var skipped = [SkippedFile]()
        var usable = [(url: URL, val: Bool)]()
        var trainer: BPETrainer?
        if case .train(let size, let minFrequency, let specials) = tokenizer {
            trainer = BPETrainer(vocabularySize: size, minFrequency: minFrequency, specialTokens: specials)
        }
        var documentIndex = 0, trainDocuments = 0
        for file in files {
            let read = TextDocuments.read(file.url)
            if let problem = read.problem {
                skipped.append(SkippedFile(file: file.url.relativePath, reason: problem))
                log("skipping \(read.documents.isEmpty ? "" : "part of ")\(file.url.relativePath): \(problem)")
            }
            if read.documents.isEmpty { continue }
            usable.append(file)
            for document in read.documents {
                if !isVal(document: documentIndex, file: file) {
                    trainDocuments += 1
                    trainer?.add(document)
                }
                documentIndex += 1
            }
        }
        guard trainDocuments > 0 else {
            throw CorpusError(usable.isEmpty
                ? "nothing usable: all \(files.count) input files were skipped (\(skipped.map { "\($0.file): \($0.reason)" }.joined(separator: "; ")))"
                : "no train documents: every usable document went to the validation split")
        }
        let skippedFiles = files.count - usable.count
        if skippedFiles > 0 { log("skipped \(skippedFiles) of \(files.count) files") }
        return (usable, skipped, trainer)
    }

    /// The trained tokenizer, saved as tokenizer.json, or the given one, copied there.
    private func makeTokenizer(_ trainer: BPETrainer?, in directory: URL) throws -> Tokenizer {
        let destination = directory.appendingPathComponent("tokenizer.json")
        switch tokenizer {
        case .train:
            let trainer = trainer!
            log("training a \(trainer.vocabularySize)-token byte-level BPE (\(trainer.distinctWords) distinct pieces)")
            let trained = trainer.train()
            try trained.save(to: destination)
            return trained
        case .file(let source):
            let loaded = try loadTokenizer(source)
            if source.standardizedFileURL.path != destination.standardizedFileURL.path {
                try? FileManager.default.removeItem(at: destination)
                try FileManager.default.copyItem(at: source, to: destination)
            }
            return loaded
        }
    }

    private func splitDescription(_ entry: CorpusFile) -> String {
        entry.valDocuments == 0 ? "train" : entry.trainDocuments == 0 ? "val" : "\(entry.trainDocuments) train, \(entry.valDocuments) val"
    }

    /// The input files with their split under `.files`; val names must each match an input or an existing file.
    private func assignFiles() throws -> [(url: URL, val: Bool)] {
        var files = TextDocuments.expand(inputs).map { (url: $0, val: false) }
        guard case .files(let names) = split else { return files }
        for name in names {
            let matches = files.indices.filter { i in
                let url = files[i].url
                return url.relativePath == name || url.path == name || url.lastPathComponent == name
                    || url.deletingPathExtension().lastPathComponent == name
            }
            if !matches.isEmpty {
                for i in matches { files[i].val = true }
            } else if FileManager.default.fileExists(atPath: name) {
                files.append((URL(fileURLWithPath: name), true))
            } else {
                throw CorpusError("--val-files: \"\(name)\" is neither one of the input files nor an existing file")
            }
        }
        return files
    }

    private func isVal(document index: Int, file: (url: URL, val: Bool)) -> Bool {
        switch split {
        case .files: return file.val
        case .fraction(let f): return (Double(index + 1) * f).rounded(.down) > (Double(index) * f).rounded(.down)
        }
    }

    /// Shards and corpus.json of an earlier run, which would otherwise mix with this one.
    private func removeEarlierOutput(in directory: URL) throws {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        where PreparedCorpus.isShardName(name, split: "train") || PreparedCorpus.isShardName(name, split: "val")
            || name == PreparedCorpus.manifestName || name == PreparedCorpus.documentIndexName {
            try FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }
}

/// Buffers one split's tokens and writes a shard each time `shardTokens` are reached.
private final class ShardWriter {
    let split: String, directory: URL, shardTokens: Int, vocabularySize: Int
    private var buffer = [Int32]()
    private var shardIndex = 0
    private(set) var tokens = 0, bytes = 0, documents = 0

    init(split: String, directory: URL, shardTokens: Int, vocabularySize: Int) {
        self.split = split
        self.directory = directory
        self.shardTokens = shardTokens
        self.vocabularySize = vocabularySize
    }

    func append(document ids: [Int], eot: Int, bytes documentBytes: Int) throws {
        documents += 1
        bytes += documentBytes
        try add(eot)
        for id in ids { try add(id) }
    }

    private func add(_ id: Int) throws {
        buffer.append(Int32(id))
        tokens += 1
        if buffer.count == shardTokens { try flush() }
    }

    func finish() throws {
        if !buffer.isEmpty { try flush() }
    }

    private func flush() throws {
        try TokenShard.write(buffer, vocabularySize: vocabularySize,
                             to: directory.appendingPathComponent(PreparedCorpus.shardName(split, shardIndex)))
        shardIndex += 1
        buffer.removeAll(keepingCapacity: true)
    }
}

/// documents.jsonl: one line per document in split order, `{"file", "meta", "split", "start", "tokens"}`: where its tokens
/// (its <|endoftext|> first) lie in the split's token stream, and the fields its JSONL line carried besides "text". Written
/// only when some document carries fields, so a plain-text corpus has none.
struct DocumentIndexWriter {
    private var entries: [(split: String, start: Int, tokens: Int, file: String, metadata: [String: Any]?)] = []
    private var anyMetadata = false

    /// Notes a document; nothing is serialised unless some document has fields (a plain-text corpus costs a tuple each).
    mutating func add(split: String, start: Int, tokens: Int, file: String, metadata: [String: Any]?) {
        entries.append((split, start, tokens, file, metadata))
        if metadata != nil { anyMetadata = true }
    }

    func write(to url: URL) throws {
        guard anyMetadata else { return }
        var lines = Data()
        for entry in entries {
            var line: [String: Any] = ["split": entry.split, "start": entry.start, "tokens": entry.tokens, "file": entry.file]
            if let metadata = entry.metadata { line["meta"] = metadata }
            lines += try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes])
            lines.append(0x0A)
        }
        try FileError.wrap("write", path: url.path) { try lines.write(to: url, options: .atomic) }
    }
}
