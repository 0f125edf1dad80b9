import TextData
import XCTest

final class ByteLevelBPETokenizerTests: XCTestCase {
    func testEncodingsEqualHuggingFaceWithItsTokenizerJSON() throws {
        let tokenizer = try ByteLevelBPETokenizer(contentsOf: TokenizerFixture.url("hf_bpe512.tokenizer.json"))
        for fixture in try TokenizerFixture.cases("hf_bpe512.encodings.json") {
            XCTAssertEqual(tokenizer.encode(fixture.text), fixture.ids, "text: \(fixture.text.debugDescription.prefix(80))")
        }
    }

    func testHuggingFaceEncodesWithOurTrainedTokenizerJSONAsWeDo() throws {
        // swift_bpe512.tokenizer.json was written by our trainer; the ids were computed by `tokenizers` from it.
        let tokenizer = try ByteLevelBPETokenizer(contentsOf: TokenizerFixture.url("swift_bpe512.tokenizer.json"))
        for fixture in try TokenizerFixture.cases("swift_bpe512.encodings.json") {
            XCTAssertEqual(tokenizer.encode(fixture.text), fixture.ids, "text: \(fixture.text.debugDescription.prefix(80))")
        }
    }

    func testDecodeInvertsEncode() throws {
        let tokenizer = try ByteLevelBPETokenizer(contentsOf: TokenizerFixture.url("hf_bpe512.tokenizer.json"))
        for fixture in try TokenizerFixture.cases("hf_bpe512.encodings.json") {
            XCTAssertEqual(tokenizer.decode(tokenizer.encode(fixture.text)), fixture.text)
        }
    }

    func testSpecialTokenIsMatchedBeforePreTokenization() throws {
        let tokenizer = try ByteLevelBPETokenizer(contentsOf: TokenizerFixture.url("hf_bpe512.tokenizer.json"))
        let eot = try XCTUnwrap(tokenizer.specialTokenID("<|endoftext|>"))
        XCTAssertEqual(eot, 0)
        let ids = tokenizer.encode("a<|endoftext|>b")
        XCTAssertEqual(ids, tokenizer.encode("a") + [eot] + tokenizer.encode("b"))
        XCTAssertNil(tokenizer.specialTokenID("[MASK]"))
    }

    func testRepeatedEncodingUsesTheCacheAndGivesTheSameIds() throws {
        let tokenizer = try ByteLevelBPETokenizer(contentsOf: TokenizerFixture.url("hf_bpe512.tokenizer.json"))
        let text = try TokenizerFixture.sample()
        XCTAssertEqual(tokenizer.encode(text), tokenizer.encode(text))
    }

    func testCutMultiByteCharacterDecodesToReplacementCharacter() throws {
        let tokenizer = try ByteLevelBPETokenizer(contentsOf: TokenizerFixture.url("hf_bpe512.tokenizer.json"))
        let ids = tokenizer.encode("€")  // three bytes, no merges for them in a Shakespeare vocabulary
        XCTAssertEqual(ids.count, 3)
        XCTAssertEqual(tokenizer.decode(Array(ids.prefix(2))), "\u{FFFD}")
    }

    func testIdsOfEveryByteExist() throws {
        let tokenizer = try ByteLevelBPETokenizer(contentsOf: TokenizerFixture.url("hf_bpe512.tokenizer.json"))
        let everyByte = String(decoding: (1..<128).map { UInt8($0) }, as: UTF8.self)
        XCTAssertEqual(tokenizer.decode(tokenizer.encode(everyByte)), everyByte)
    }
}
