import Foundation
import TestSupport
import TextData
import XCTest

final class CorpusPreparationTests: XCTestCase {
    private var inputs: URL!
    private var tokenizerURL: URL { TokenizerFixture.url("hf_bpe512.tokenizer.json") }

    override func setUpWithError() throws {
        inputs = try makeTemporaryDirectory("inputs")
        try write("one.txt", "To be, or not to be: that is the question.\n")
        try write("two.txt", "Now is the winter of our discontent.\n")
        try write("three.jsonl", #"{"text": "Friends, Romans, countrymen."}"# + "\n" + #"{"text": "Lend me your ears."}"# + "\n")
    }

    private func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: inputs.appendingPathComponent(name))
    }

    private func url(_ name: String) -> URL { inputs.appendingPathComponent(name) }

    private func prepare(_ names: [String], split: CorpusPreparation.Split = .files(["two"]),
                         tokenizer: CorpusPreparation.TokenizerSource? = nil, shardTokens: Int = 1000) throws -> (URL, CorpusManifest) {
        let out = try makeTemporaryDirectory("out")
        var preparation = CorpusPreparation(inputs: names.map(url), split: split, tokenizer: tokenizer ?? .file(tokenizerURL))
        preparation.shardTokens = shardTokens
        return (out, try preparation.run(into: out))
    }

    /// The documents of a split, decoded: shards concatenated and cut at end-of-text tokens.
    private func documents(_ shards: [URL], eot: Int32, tokenizer: Tokenizer) throws -> [String] {
        let tokens = try shards.flatMap { try TokenShard.read($0) }
        XCTAssertEqual(tokens.first, eot, "each document is preceded by end-of-text")
        return tokens.split(separator: eot).map { tokenizer.decode($0.map(Int.init)) }
    }

    func testEachDocumentIsPrecededByEndOfTextAndDecodesBack() throws {
        let (out, manifest) = try prepare(["one.txt", "two.txt", "three.jsonl"])
        let corpus = try PreparedCorpus(directory: out)
        let tokenizer = try loadTokenizer(corpus.tokenizerURL)
        XCTAssertEqual(try documents(corpus.trainShards, eot: 0, tokenizer: tokenizer),
                       ["To be, or not to be: that is the question.\n", "Friends, Romans, countrymen.", "Lend me your ears."])
        XCTAssertEqual(try documents(corpus.valShards, eot: 0, tokenizer: tokenizer), ["Now is the winter of our discontent.\n"])
        XCTAssertEqual(manifest.trainDocuments, 3)
        XCTAssertEqual(manifest.valDocuments, 1)
        XCTAssertEqual(manifest.valBytes, "Now is the winter of our discontent.\n".utf8.count)
        XCTAssertEqual(corpus.eotToken, 0)
        XCTAssertEqual(corpus.vocabularySize, 512)
    }

    /// JSONL fields besides "text" are kept in documents.jsonl with each document's split and token range: the range
    /// starts at its end-of-text and decodes back to the text; a corpus of plain text has no index.
    func testDocumentMetadataIsKeptWithEachDocumentsTokenRange() throws {
        try write("meta.jsonl", [#"{"text": "Friends, Romans, countrymen.", "meta": {"era": "modern", "year": 1599}}"#,
                                 #"{"text": "Lend me your ears.", "id": "jc-2"}"#, #"{"text": "I come to bury Caesar."}"#]
            .joined(separator: "\n") + "\n")
        let (out, _) = try prepare(["one.txt", "two.txt", "meta.jsonl"])
        let corpus = try PreparedCorpus(directory: out)
        let tokenizer = try loadTokenizer(corpus.tokenizerURL)
        let lines = try String(contentsOf: out.appendingPathComponent(PreparedCorpus.documentIndexName), encoding: .utf8)
            .split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(lines.map { $0["split"] as? String }, ["train", "val", "train", "train", "train"])
        // The file as corpus.json names it (the path given).
        XCTAssertEqual(lines.map { ($0["file"] as? String).map { ($0 as NSString).lastPathComponent } },
                       ["one.txt", "two.txt", "meta.jsonl", "meta.jsonl", "meta.jsonl"])
        XCTAssertEqual(lines[2]["meta"] as? [String: [String: AnyHashable]], ["meta": ["era": "modern", "year": 1599]])
        XCTAssertEqual(lines[3]["meta"] as? [String: String], ["id": "jc-2"])
        XCTAssertNil(lines[4]["meta"])
        let train = try corpus.trainShards.flatMap { try TokenShard.read($0) }
        var next = 0
        for (line, text) in zip(lines.filter { $0["split"] as? String == "train" },
                                ["To be, or not to be: that is the question.\n", "Friends, Romans, countrymen.", "Lend me your ears.", "I come to bury Caesar."]) {
            let (start, count) = (try XCTUnwrap(line["start"] as? Int), try XCTUnwrap(line["tokens"] as? Int))
            XCTAssertEqual(start, next, "the train documents follow one another")
            XCTAssertEqual(train[start], 0, "a range starts at its end-of-text")
            XCTAssertEqual(tokenizer.decode(train[(start + 1)..<(start + count)].map(Int.init)), text)
            next = start + count
        }
        XCTAssertEqual(next, train.count)

        let (plain, _) = try prepare(["one.txt", "two.txt"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: plain.appendingPathComponent(PreparedCorpus.documentIndexName).path))
    }

    func testCorpusJSONHasTheDocumentedKeysInOrder() throws {
        let (out, _) = try prepare(["one.txt", "two.txt"])
        let text = try String(contentsOf: out.appendingPathComponent("corpus.json"), encoding: .utf8)
        let keys = ["tokenizer", "vocab_size", "eot_token", "train_tokens", "val_tokens", "train_bytes", "val_bytes",
                    "train_documents", "val_documents", "files", "skipped"]
        let positions = keys.map { text.range(of: "\"\($0)\":")?.lowerBound }
        XCTAssertFalse(positions.contains(nil))
        XCTAssertEqual(positions.map { $0! }, positions.map { $0! }.sorted())
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("tokenizer.json").path))
    }

    func testValFractionSendsEveryNthDocumentToValidation() throws {
        let lines = (0..<10).map { #"{"text": "document \#($0)"}"# }.joined(separator: "\n")
        try write("ten.jsonl", lines)
        let (out, manifest) = try prepare(["ten.jsonl"], split: .fraction(0.2))
        let corpus = try PreparedCorpus(directory: out)
        let tokenizer = try loadTokenizer(corpus.tokenizerURL)
        XCTAssertEqual(try documents(corpus.valShards, eot: 0, tokenizer: tokenizer), ["document 4", "document 9"])
        XCTAssertEqual(manifest.trainDocuments, 8)
    }

    func testSameInputsGiveIdenticalShards() throws {
        let (first, _) = try prepare(["one.txt", "two.txt", "three.jsonl"], split: .fraction(0.5))
        let (second, _) = try prepare(["one.txt", "two.txt", "three.jsonl"], split: .fraction(0.5))
        for name in ["train_000000.bin", "val_000000.bin", "corpus.json"] {
            XCTAssertEqual(try Data(contentsOf: first.appendingPathComponent(name)),
                           try Data(contentsOf: second.appendingPathComponent(name)), name)
        }
    }

    func testShardsHoldAtMostShardTokensAndAreListedInOrder() throws {
        let (out, manifest) = try prepare(["one.txt", "two.txt", "three.jsonl"], shardTokens: 7)
        let corpus = try PreparedCorpus(directory: out)
        XCTAssertGreaterThan(corpus.trainShards.count, 2)
        XCTAssertEqual(corpus.trainShards.map(\.lastPathComponent).first, "train_000000.bin")
        XCTAssertEqual(corpus.trainShards.map(\.lastPathComponent), corpus.trainShards.map(\.lastPathComponent).sorted())
        let counts = try corpus.trainShards.map { try TokenShard.tokenCount($0) }
        XCTAssertTrue(counts.allSatisfy { $0 <= 7 })
        XCTAssertEqual(counts.reduce(0, +), manifest.trainTokens)
    }

    func testEmptyUnreadableAndBadLinesAreSkippedAndReported() throws {
        try write("empty.txt", "  \n")
        try write("latin1.txt", "")
        try Data([0x63, 0x61, 0x66, 0xE9]).write(to: url("latin1.txt"))  // "café" in Latin-1: not UTF-8
        try write("mixed.jsonl", #"{"text": "good line"}"# + "\nnot json\n" + #"{"title": "no text"}"#)
        let (_, manifest) = try prepare(["one.txt", "two.txt", "empty.txt", "latin1.txt", "missing.txt", "mixed.jsonl"])
        let reasons = Dictionary(uniqueKeysWithValues: manifest.skipped.map { (URL(fileURLWithPath: $0.file).lastPathComponent, $0.reason) })
        XCTAssertEqual(reasons["empty.txt"], "empty")
        XCTAssertEqual(reasons["latin1.txt"], "not valid UTF-8 text")
        XCTAssertEqual(reasons["missing.txt"], "no such file")
        XCTAssertEqual(reasons["mixed.jsonl"]?.hasPrefix("2 of 3 lines unusable"), true)
        XCTAssertEqual(manifest.trainDocuments, 2)  // one.txt and the good line
    }

    func testNothingUsableIsAClearError() throws {
        try write("empty.txt", "")
        XCTAssertThrowsError(try prepare(["empty.txt", "missing.txt"], split: .fraction(0.05))) { error in
            XCTAssertTrue("\(error)".contains("nothing usable"), "\(error)")
            XCTAssertTrue("\(error)".contains("missing.txt"), "\(error)")
        }
    }

    func testUnknownValFileIsAnError() throws {
        XCTAssertThrowsError(try prepare(["one.txt"], split: .files(["hamlet"]))) { error in
            XCTAssertTrue("\(error)".contains("hamlet"), "\(error)")
        }
    }

    func testTrainVocabTrainsOnTrainDocumentsAndSavesTheTokenizer() throws {
        try write("sample.txt", try TokenizerFixture.sample())
        let (out, manifest) = try prepare(["sample.txt", "two.txt"],
                                          tokenizer: .train(vocabularySize: 300, minFrequency: 2, specialTokens: ["<|endoftext|>"]))
        let tokenizer = try XCTUnwrap(try loadTokenizer(out.appendingPathComponent("tokenizer.json")) as? ByteLevelBPETokenizer)
        XCTAssertEqual(tokenizer.vocabularySize, 300)
        XCTAssertEqual(manifest.vocabSize, 300)
        let expected = ByteLevelBPETokenizer.train(documents: [try TokenizerFixture.sample()], vocabularySize: 300)
        XCTAssertEqual(tokenizer.vocabulary, expected.vocabulary, "trained on the train file only")
    }

    func testDirectoryInputStandsForItsTextAndJSONLFiles() throws {
        let out = try makeTemporaryDirectory("out")
        let manifest = try CorpusPreparation(inputs: [inputs], split: .files(["two.txt"]), tokenizer: .file(tokenizerURL))
            .run(into: out)
        XCTAssertEqual(manifest.files.map { URL(fileURLWithPath: $0.file).lastPathComponent }, ["one.txt", "three.jsonl", "two.txt"])
    }
}

final class PreparedCorpusTests: XCTestCase {
    func testMissingManifestIsAClearError() throws {
        let directory = try makeTemporaryDirectory()
        XCTAssertThrowsError(try PreparedCorpus(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("corpus.json"), "\(error)")
        }
    }

    func testTokenCountDisagreeingWithShardsIsAnError() throws {
        let directory = try makeTemporaryDirectory()
        try TokenShard.write([0, 5, 6], vocabularySize: 10, to: directory.appendingPathComponent("train_000000.bin"))
        let manifest = CorpusManifest(tokenizer: "tokenizer.json", vocabSize: 10, eotToken: 0, trainTokens: 4, valTokens: 0,
                                      trainBytes: 2, valBytes: 0, trainDocuments: 1, valDocuments: 0, files: [], skipped: [])
        try Data(manifest.jsonText().utf8).write(to: directory.appendingPathComponent("corpus.json"))
        XCTAssertThrowsError(try PreparedCorpus(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("train_tokens is 4 but the train shards hold 3"), "\(error)")
        }
    }

    /// Found by `pretrain fuzz corpus`: a vocab_size of -5 reached the trainer ("outside model.vocab_size -5") and an
    /// eot_token of 900 in a vocabulary of 10 trained without a word.
    func testValuesNoRunCanUseAreErrorsNamingTheKey() throws {
        let directory = try makeTemporaryDirectory()
        try TokenShard.write([0, 5, 6], vocabularySize: 10, to: directory.appendingPathComponent("train_000000.bin"))
        for (vocabulary, eot, trainBytes, expected) in [(-5, 0, 2, "vocab_size is -5"), (10, 900, 2, "eot_token 900 is outside"),
                                                        (10, -1, 2, "eot_token -1 is outside"), (10, 0, -2, "train_bytes is -2")] {
            let manifest = CorpusManifest(tokenizer: "tokenizer.json", vocabSize: vocabulary, eotToken: eot, trainTokens: 3,
                                          valTokens: 0, trainBytes: trainBytes, valBytes: 0, trainDocuments: 1, valDocuments: 0,
                                          files: [], skipped: [])
            try Data(manifest.jsonText().utf8).write(to: directory.appendingPathComponent("corpus.json"))
            XCTAssertThrowsError(try PreparedCorpus(directory: directory)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
    }

    func testManifestRoundTripsThroughJSON() throws {
        let manifest = CorpusManifest(tokenizer: "tokenizer.json", vocabSize: 10, eotToken: 0, trainTokens: 4, valTokens: 0,
                                      trainBytes: 2, valBytes: 0, trainDocuments: 1, valDocuments: 0,
                                      files: [CorpusFile(file: "a \"b\".txt", trainDocuments: 1, valDocuments: 0, bytes: 2)],
                                      skipped: [SkippedFile(file: "c.txt", reason: "empty")])
        XCTAssertEqual(try JSONDecoder().decode(CorpusManifest.self, from: Data(manifest.jsonText().utf8)), manifest)
    }
}
