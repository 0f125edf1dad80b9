import Foundation
import TestSupport
import TextData
import XCTest

final class TokenizerFileTests: XCTestCase {
    private func fixtureJSON(_ name: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: TokenizerFixture.url(name))) as? [String: Any])
    }

    /// Writes `object` to a scratch file and returns its URL.
    private func write(_ object: [String: Any], name: String = "tokenizer.json") throws -> URL {
        let url = try makeTemporaryDirectory().appendingPathComponent(name)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        return url
    }

    private func assertLoadFails(_ object: [String: Any], naming key: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = try write(object)
        XCTAssertThrowsError(try loadTokenizer(url), file: file, line: line) { error in
            let error = error as? TokenizerFileError
            XCTAssertEqual(error?.key, key, file: file, line: line)
            XCTAssertEqual(error?.file, url.path, file: file, line: line)
        }
    }

    func testSavedTokenizerLoadsWithTheSameVocabularyMergesAndEncodings() throws {
        let original = try ByteLevelBPETokenizer(contentsOf: TokenizerFixture.url("hf_bpe512.tokenizer.json"))
        let url = try makeTemporaryDirectory().appendingPathComponent("tokenizer.json")
        try original.save(to: url)
        let reloaded = try ByteLevelBPETokenizer(contentsOf: url)
        XCTAssertEqual(reloaded.vocabulary, original.vocabulary)
        XCTAssertEqual(reloaded.mergeStrings.map { [$0.0, $0.1] }, original.mergeStrings.map { [$0.0, $0.1] })
        XCTAssertEqual(reloaded.addedTokens, original.addedTokens)
        let sample = try TokenizerFixture.sample()
        XCTAssertEqual(reloaded.encode(sample), original.encode(sample))
    }

    func testMergesInStringFormReadLikeArrayForm() throws {
        var json = try fixtureJSON("hf_bpe512.tokenizer.json")
        var model = try XCTUnwrap(json["model"] as? [String: Any])
        let pairs = try XCTUnwrap(model["merges"] as? [[String]])
        model["merges"] = pairs.map { $0.joined(separator: " ") }
        json["model"] = model
        let fromStrings = try ByteLevelBPETokenizer(contentsOf: write(json))
        let fromArrays = try ByteLevelBPETokenizer(contentsOf: TokenizerFixture.url("hf_bpe512.tokenizer.json"))
        XCTAssertEqual(fromStrings.merges.map { [$0.left, $0.right] }, fromArrays.merges.map { [$0.left, $0.right] })
    }

    func testUnknownModelTypeNamesTheKey() throws {
        var json = try fixtureJSON("hf_bpe512.tokenizer.json")
        var model = try XCTUnwrap(json["model"] as? [String: Any])
        model["type"] = "Unigram"
        json["model"] = model
        try assertLoadFails(json, naming: "model.type")
    }

    func testMergeOfUnknownTokenNamesTheMergeIndex() throws {
        var json = try fixtureJSON("hf_bpe512.tokenizer.json")
        var model = try XCTUnwrap(json["model"] as? [String: Any])
        var merges = try XCTUnwrap(model["merges"] as? [[String]])
        merges[3] = ["nope", "t"]
        model["merges"] = merges
        json["model"] = model
        try assertLoadFails(json, naming: "model.merges[3]")
    }

    func testMissingVocabularyNamesTheKey() throws {
        var json = try fixtureJSON("hf_bpe512.tokenizer.json")
        var model = try XCTUnwrap(json["model"] as? [String: Any])
        model["vocab"] = nil
        json["model"] = model
        try assertLoadFails(json, naming: "model.vocab")
    }

    func testUnsupportedPreTokenizerNamesTheKey() throws {
        var json = try fixtureJSON("hf_bpe512.tokenizer.json")
        json["pre_tokenizer"] = ["type": "Metaspace"]
        try assertLoadFails(json, naming: "pre_tokenizer.type")
    }

    func testNormalizerOnByteLevelBPEIsRefused() throws {
        var json = try fixtureJSON("hf_bpe512.tokenizer.json")
        json["normalizer"] = ["type": "NFC"]
        try assertLoadFails(json, naming: "normalizer")
    }

    func testWordPieceWithoutItsUnknownTokenNamesTheKey() throws {
        var json = try fixtureJSON("hf_wordpiece500.tokenizer.json")
        var model = try XCTUnwrap(json["model"] as? [String: Any])
        model["unk_token"] = "<unk>"
        json["model"] = model
        try assertLoadFails(json, naming: "model.unk_token")
    }

    /// Found by `pretrain fuzz tokenizer`: one id of 100,000,000 made the loader allocate tables of that many entries
    /// (gigabytes, then a hang); an id past Int32 trapped in the merge table.
    func testAbsurdIDsAreRefusedBeforeAnythingIsAllocated() throws {
        for (id, key) in [(100_000_000, "model.vocab"), (Int(Int32.max) + 1, "model.vocab"), (Int.max, "added_tokens")] {
            var json = try fixtureJSON("hf_bpe512.tokenizer.json")
            if key == "model.vocab" {
                var model = try XCTUnwrap(json["model"] as? [String: Any])
                var vocab = try XCTUnwrap(model["vocab"] as? [String: Any])
                vocab["Ġthe"] = id
                model["vocab"] = vocab
                json["model"] = model
            } else {
                json["added_tokens"] = [["id": id, "content": "<|big|>", "special": true]]
            }
            try assertLoadFails(json, naming: key)
        }
        var json = try fixtureJSON("hf_wordpiece500.tokenizer.json")
        var model = try XCTUnwrap(json["model"] as? [String: Any])
        var vocab = try XCTUnwrap(model["vocab"] as? [String: Any])
        vocab["the"] = maxVocabularySize
        model["vocab"] = vocab
        json["model"] = model
        try assertLoadFails(json, naming: "model.vocab")
    }

    /// Found by `pretrain fuzz tokenizer`: a merge naming a token with a line break made a two-line message.
    func testMessagesStayOnOneLine() throws {
        var json = try fixtureJSON("hf_bpe512.tokenizer.json")
        var model = try XCTUnwrap(json["model"] as? [String: Any])
        var merges = try XCTUnwrap(model["merges"] as? [[String]])
        merges[3] = ["a\nb", "t"]
        model["merges"] = merges
        json["model"] = model
        XCTAssertThrowsError(try loadTokenizer(write(json))) { error in
            XCTAssertFalse("\(error)".contains("\n"), "\(error)")
            XCTAssertTrue("\(error)".contains(#""a\nb" is not in model.vocab"#), "\(error)")
        }
    }

    func testFileThatIsNotJSONIsReportedWithItsPath() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("tokenizer.json")
        try Data("{ not json".utf8).write(to: url)
        XCTAssertThrowsError(try loadTokenizer(url)) { error in
            XCTAssertTrue("\(error)".contains(url.path))
            XCTAssertTrue("\(error)".contains("not valid JSON"))
        }
    }

    func testMissingFileIsReportedWithItsPath() {
        XCTAssertThrowsError(try loadTokenizer(URL(fileURLWithPath: "/nonexistent/tokenizer.json"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/tokenizer.json"))
        }
    }
}
