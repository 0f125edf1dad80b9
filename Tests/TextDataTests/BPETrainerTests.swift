import TextData
import XCTest

final class BPETrainerTests: XCTestCase {
    private func assertSameAsHuggingFace(vocabularySize: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let reference = try ByteLevelBPETokenizer(contentsOf: TokenizerFixture.url("hf_bpe\(vocabularySize).tokenizer.json"))
        let trained = ByteLevelBPETokenizer.train(documents: [try TokenizerFixture.sample()], vocabularySize: vocabularySize)
        XCTAssertEqual(trained.vocabulary, reference.vocabulary, file: file, line: line)
        let ours = trained.mergeStrings.map { "\($0.0) \($0.1)" }, theirs = reference.mergeStrings.map { "\($0.0) \($0.1)" }
        XCTAssertEqual(ours.count, theirs.count, file: file, line: line)
        if let first = zip(ours, theirs).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            XCTFail("merge \(first.offset): ours \(first.element.0), tokenizers \(first.element.1)", file: file, line: line)
        }
    }

    func testMergesAndVocabularyEqualHuggingFaceAt512() throws {
        try assertSameAsHuggingFace(vocabularySize: 512)
    }

    func testMergesAndVocabularyEqualHuggingFaceAt1024() throws {
        try assertSameAsHuggingFace(vocabularySize: 1024)
    }

    func testTrainingReproducesTheCommittedTokenizer() throws {
        let committed = try ByteLevelBPETokenizer(contentsOf: TokenizerFixture.url("swift_bpe512.tokenizer.json"))
        let trained = ByteLevelBPETokenizer.train(documents: [try TokenizerFixture.sample()], vocabularySize: 512)
        XCTAssertEqual(trained.tokenizerJSON(), committed.tokenizerJSON())
    }

    func testSpecialTokensTakeTheFirstIdsThenBytesInCharacterOrder() {
        let trained = ByteLevelBPETokenizer.train(documents: ["ab ab ab"], vocabularySize: 300,
                                                  specialTokens: ["<|endoftext|>", "[MASK]"])
        XCTAssertEqual(trained.vocabulary[0], "<|endoftext|>")
        XCTAssertEqual(trained.vocabulary[1], "[MASK]")
        XCTAssertEqual(trained.vocabulary[2], "!")
        XCTAssertEqual(trained.specialTokenID("[MASK]"), 1)
    }

    func testTieGoesToTheSmallerPairOfIds() {
        // Pieces "cd", " ab", " cd", " ab": (c, d), (a, b) and (Ġ, a) each occur twice. Byte ids follow
        // character order (a < c < Ġ), so (a, b) is the smallest pair and is merged first.
        let trained = ByteLevelBPETokenizer.train(documents: ["cd ab cd ab"], vocabularySize: 257, specialTokens: [])
        XCTAssertEqual(trained.mergeStrings.map { "\($0.0) \($0.1)" }, ["a b"])
    }

    func testStopsBelowMinimumFrequency() {
        let trained = ByteLevelBPETokenizer.train(documents: ["xyz"], vocabularySize: 1000, minFrequency: 2)
        XCTAssertTrue(trained.merges.isEmpty)
        XCTAssertEqual(trained.vocabularySize, 257)
    }

    func testSpecialTokensInTrainingTextAreNotLearnedFrom() {
        let trained = ByteLevelBPETokenizer.train(documents: ["<|endoftext|><|endoftext|><|endoftext|>"],
                                                  vocabularySize: 1000)
        XCTAssertTrue(trained.merges.isEmpty)
    }
}
