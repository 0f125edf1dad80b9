import Foundation
import FileErrors

/// corpus.json, the description `pretrain tokenize` writes beside the shards it made.
public struct CorpusManifest: Codable, Equatable, Sendable {
    /// The tokenizer file, relative to the corpus directory ("tokenizer.json").
    public var tokenizer: String
    public var vocabSize: Int
    /// The token that precedes every document.
    public var eotToken: Int
    public var trainTokens: Int, valTokens: Int
    /// UTF-8 bytes of the documents' text (end-of-text tokens excluded), for bits per byte.
    public var trainBytes: Int, valBytes: Int
    public var trainDocuments: Int, valDocuments: Int
    public var files: [CorpusFile]
    public var skipped: [SkippedFile]

    public init(tokenizer: String, vocabSize: Int, eotToken: Int, trainTokens: Int, valTokens: Int, trainBytes: Int,
                valBytes: Int, trainDocuments: Int, valDocuments: Int, files: [CorpusFile], skipped: [SkippedFile]) {
        self.tokenizer = tokenizer
        self.vocabSize = vocabSize
        self.eotToken = eotToken
        self.trainTokens = trainTokens
        self.valTokens = valTokens
        self.trainBytes = trainBytes
        self.valBytes = valBytes
        self.trainDocuments = trainDocuments
        self.valDocuments = valDocuments
        self.files = files
        self.skipped = skipped
    }

    /// corpus.json text, keys in the documented order.
    public func jsonText() -> String {
        let files = self.files.map {
            "    {\"file\": \(JSONText.quoted($0.file)), \"train_documents\": \($0.trainDocuments), "
                + "\"val_documents\": \($0.valDocuments), \"bytes\": \($0.bytes)}"
        }
        let skipped = self.skipped.map { "    {\"file\": \(JSONText.quoted($0.file)), \"reason\": \(JSONText.quoted($0.reason))}" }
        func list(_ lines: [String]) -> String { lines.isEmpty ? "[]" : "[\n" + lines.joined(separator: ",\n") + "\n  ]" }
        return """
        {
          "tokenizer": \(JSONText.quoted(tokenizer)),
          "vocab_size": \(vocabSize),
          "eot_token": \(eotToken),
          "train_tokens": \(trainTokens),
          "val_tokens": \(valTokens),
          "train_bytes": \(trainBytes),
          "val_bytes": \(valBytes),
          "train_documents": \(trainDocuments),
          "val_documents": \(valDocuments),
          "files": \(list(files)),
          "skipped": \(list(skipped))
        }

        """
    }

    enum CodingKeys: String, CodingKey {
        case tokenizer, vocabSize = "vocab_size", eotToken = "eot_token", trainTokens = "train_tokens",
             valTokens = "val_tokens", trainBytes = "train_bytes", valBytes = "val_bytes",
             trainDocuments = "train_documents", valDocuments = "val_documents", files, skipped
    }
}

/// An input file that contributed documents.
public struct CorpusFile: Codable, Equatable, Sendable {
    public var file: String
    /// Documents by split (with --val-fraction one file can feed both).
    public var trainDocuments: Int, valDocuments: Int
    public var bytes: Int

    public init(file: String, trainDocuments: Int, valDocuments: Int, bytes: Int) {
        self.file = file
        self.trainDocuments = trainDocuments
        self.valDocuments = valDocuments
        self.bytes = bytes
    }

    enum CodingKeys: String, CodingKey {
        case file, trainDocuments = "train_documents", valDocuments = "val_documents", bytes
    }
}

/// An input file (or part of one) left out, and why.
public struct SkippedFile: Codable, Equatable, Sendable {
    public var file: String
    public var reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }
}

/// A directory made by `pretrain tokenize`: train_000000.bin, ..., val_000000.bin, ..., corpus.json,
/// tokenizer.json. Opening it checks that the shards exist and hold the token counts corpus.json states.
public struct PreparedCorpus {
    public let directory: URL
    public let manifest: CorpusManifest
    public let trainShards: [URL]
    public let valShards: [URL]

    public var vocabularySize: Int { manifest.vocabSize }
    public var eotToken: Int { manifest.eotToken }
    public var trainTokens: Int { manifest.trainTokens }
    public var valTokens: Int { manifest.valTokens }
    public var trainBytes: Int { manifest.trainBytes }
    public var valBytes: Int { manifest.valBytes }
    public var trainDocuments: Int { manifest.trainDocuments }
    public var valDocuments: Int { manifest.valDocuments }
    public var tokenizerURL: URL { directory.appendingPathComponent(manifest.tokenizer) }

    public static let manifestName = "corpus.json"
    /// Each document's split, token range and metadata (`pretrain tokenize` of JSONL documents with fields besides text).
    public static let documentIndexName = "documents.jsonl"

    public init(directory: URL) throws {
        self.directory = directory
        let manifestURL = directory.appendingPathComponent(Self.manifestName)
        guard let data = try? Data(contentsOf: manifestURL) else {
            throw CorpusError("\(manifestURL.path): missing or unreadable; is \(directory.path) a directory made by `pretrain tokenize`?")
        }
        do { manifest = try JSONDecoder().decode(CorpusManifest.self, from: data) } catch {
            throw CorpusError("\(manifestURL.path): \(JSONFile.problem(error)); is \(directory.path) a directory made by `pretrain tokenize`?")
        }
        try Self.check(manifest, manifestURL)
        trainShards = try Self.shards("train", in: directory)
        valShards = try Self.shards("val", in: directory)
        guard !trainShards.isEmpty else { throw CorpusError("\(directory.path): no train_*.bin shards") }
        for (split, shards, stated) in [("train", trainShards, manifest.trainTokens), ("val", valShards, manifest.valTokens)] {
            let held = try shards.reduce(0) { $0 + (try TokenShard.tokenCount($1)) }
            guard held == stated else {
                throw CorpusError("\(manifestURL.path): \(split)_tokens is \(stated) but the \(split) shards hold \(held) tokens")
            }
        }
    }

    public enum ShardSplit { case train, val }

    /// The tokens of a split's shards, every id checked against `vocabularySize` (nil: corpus.json's vocab_size) as
    /// each shard is read: the one place shards are loaded for training or evaluation.
    public func readShards(_ split: ShardSplit, vocabularySize: Int? = nil) throws -> [[Int32]] {
        let bound = vocabularySize ?? manifest.vocabSize
        return try (split == .train ? trainShards : valShards).map { try TokenShard.read($0, vocabularySize: bound) }
    }

    /// Values that decode but no run can use: a vocabulary of no tokens, an end-of-text token outside it, negative
    /// counts (pretrain tokenize writes none of these; a hand-edited corpus.json can).
    static func check(_ manifest: CorpusManifest, _ url: URL) throws {
        guard manifest.vocabSize >= 1 else { throw CorpusError("\(url.path): vocab_size is \(manifest.vocabSize); it must be ≥ 1") }
        guard (0..<manifest.vocabSize).contains(manifest.eotToken) else {
            throw CorpusError("\(url.path): eot_token \(manifest.eotToken) is outside the vocabulary of \(manifest.vocabSize)")
        }
        let counts = [("train_tokens", manifest.trainTokens), ("val_tokens", manifest.valTokens), ("train_bytes", manifest.trainBytes),
                      ("val_bytes", manifest.valBytes), ("train_documents", manifest.trainDocuments),
                      ("val_documents", manifest.valDocuments)]
        if let (key, value) = counts.first(where: { $0.1 < 0 }) { throw CorpusError("\(url.path): \(key) is \(value); it must be ≥ 0") }
    }

    /// Shard files named `<split>_NNNNNN.bin`, in order.
    public static func shards(_ split: String, in directory: URL) throws -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { isShardName($0, split: split) }.sorted().map { directory.appendingPathComponent($0) }
    }

    static func isShardName(_ name: String, split: String) -> Bool {
        guard name.hasPrefix(split + "_"), name.hasSuffix(".bin") else { return false }
        let number = name.dropFirst(split.count + 1).dropLast(4)
        return number.count == 6 && number.allSatisfy(\.isASCII) && number.allSatisfy(\.isNumber)
    }

    static func shardName(_ split: String, _ index: Int) -> String {
        let number = String(index)
        return "\(split)_\(String(repeating: "0", count: max(0, 6 - number.count)))\(number).bin"
    }
}

public struct CorpusError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
