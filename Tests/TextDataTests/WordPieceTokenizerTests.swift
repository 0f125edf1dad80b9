import TextData
import XCTest

final class WordPieceTokenizerTests: XCTestCase {
    func testEncodingsEqualHuggingFaceUncased() throws {
        let tokenizer = try WordPieceTokenizer(contentsOf: TokenizerFixture.url("hf_wordpiece500.tokenizer.json"))
        for fixture in try TokenizerFixture.cases("hf_wordpiece500.encodings.json") {
            XCTAssertEqual(tokenizer.encode(fixture.text), fixture.ids, "text: \(fixture.text.debugDescription.prefix(80))")
        }
    }

    func testEncodingsEqualHuggingFaceCasedWithAccentsStripped() throws {
        let tokenizer = try WordPieceTokenizer(contentsOf: TokenizerFixture.url("hf_wordpiece500_cased.tokenizer.json"))
        XCTAssertEqual(tokenizer.normalizer, BertNormalizer(stripAccents: true, lowercase: false))
        for fixture in try TokenizerFixture.cases("hf_wordpiece500_cased.encodings.json") {
            XCTAssertEqual(tokenizer.encode(fixture.text), fixture.ids, "text: \(fixture.text.debugDescription.prefix(80))")
        }
    }

    func testSpecialTokensAreMatchedInTheRawText() throws {
        let tokenizer = try WordPieceTokenizer(contentsOf: TokenizerFixture.url("hf_wordpiece500.tokenizer.json"))
        let mask = try XCTUnwrap(tokenizer.specialTokenID("[MASK]"))
        XCTAssertEqual(tokenizer.encode("[MASK]"), [mask])
        XCTAssertEqual(tokenizer.specialTokenID("[CLS]"), 2)
        XCTAssertEqual(tokenizer.specialTokenID("[SEP]"), 3)
        XCTAssertEqual(tokenizer.specialTokenID("[PAD]"), 0)
    }

    func testContinuationPiecesDecodeIntoTheirWord() throws {
        let tokenizer = try WordPieceTokenizer(contentsOf: TokenizerFixture.url("hf_wordpiece500.tokenizer.json"))
        let ids = tokenizer.encode("The noblest Roman, Brutus.")
        XCTAssertGreaterThan(ids.count, 6)  // some words are split into ## pieces by a 500-token vocabulary
        XCTAssertEqual(tokenizer.decode(ids), "the noblest roman, brutus.")
    }

    func testUnsplittableAndOverlongWordsAreUnknown() throws {
        let tokenizer = try WordPieceTokenizer(contentsOf: TokenizerFixture.url("hf_wordpiece500.tokenizer.json"))
        let unknown = try XCTUnwrap(tokenizer.id(of: "[UNK]"))
        XCTAssertEqual(tokenizer.encode("🎉"), [unknown])
        XCTAssertEqual(tokenizer.encode(String(repeating: "a", count: 101)), [unknown])
    }

    func testLoadTokenizerDispatchesOnModelType() throws {
        XCTAssertTrue(try loadTokenizer(TokenizerFixture.url("hf_wordpiece500.tokenizer.json")) is WordPieceTokenizer)
        XCTAssertTrue(try loadTokenizer(TokenizerFixture.url("hf_bpe512.tokenizer.json")) is ByteLevelBPETokenizer)
    }
}

final class BertNormalizerTests: XCTestCase {
    func testLowercasingStripsAccentsByDefault() {
        XCTAssertEqual(BertNormalizer().normalize("Café NAÏVE"), "cafe naive")
    }

    func testCasedNormalizerKeepsCaseAndAccents() {
        XCTAssertEqual(BertNormalizer(lowercase: false).normalize("Café"), "Café")
    }

    func testControlCharactersAreDroppedAndWhitespaceBecomesSpace() {
        XCTAssertEqual(BertNormalizer().normalize("a\u{0}b\u{7}c\td\u{A0}e"), "abc d e")
    }

    func testChineseCharactersAreSurroundedBySpaces() {
        XCTAssertEqual(BertNormalizer().normalize("中文"), " 中  文 ")
    }

    func testPreTokenizerIsolatesPunctuation() {
        XCTAssertEqual(BertPreTokenizer.words("Hello, world!  (ok)"), ["Hello", ",", "world", "!", "(", "ok", ")"])
    }
}

final class WordStartTests: XCTestCase {
    func testWordPieceContinuationsDoNotStartWords() throws {
        let tokenizer = try WordPieceTokenizer(contentsOf: TokenizerFixture.url("hf_wordpiece500.tokenizer.json"))
        let ids = tokenizer.encode("noblest")
        XCTAssertGreaterThan(ids.count, 1)
        XCTAssertEqual(ids.map(tokenizer.isWordStart), [true] + Array(repeating: false, count: ids.count - 1))
    }

    func testByteLevelTokensWithALeadingSpaceStartWords() throws {
        let tokenizer = try ByteLevelBPETokenizer(contentsOf: TokenizerFixture.url("hf_bpe512.tokenizer.json"))
        let ids = tokenizer.encode(" noblest")
        XCTAssertGreaterThan(ids.count, 1)
        XCTAssertEqual(ids.map(tokenizer.isWordStart), [true] + Array(repeating: false, count: ids.count - 1))
        XCTAssertTrue(tokenizer.isWordStart(0))  // <|endoftext|>
    }
}
