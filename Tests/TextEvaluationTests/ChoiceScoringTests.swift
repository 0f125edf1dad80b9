import Foundation
import Layers
import Tensors
import TestSupport
import TextData
import TextEvaluation
import XCTest

/// Truncation to the window, the acc_norm rule and the whitespace rule of the harness's pair encoding.
final class ChoiceScoringTests: XCTestCase {
    private let tokenizerURL = fixtureURL("TextEvaluationTests", "choices/tokenizer.json")

    /// A random GPT-2 of 16 positions over the fixture tokenizer's 512 ids.
    private func scorer(batchRows: Int = 8) throws -> DecoderChoiceScorer {
        var generator = RandomGenerator(seed: 3)
        let model = GPTModel(GPTConfig(vocabSize: 512, contextLength: 16, layers: 1, dModel: 16, heads: 2), generator: &generator)
        return try DecoderChoiceScorer(model: model, tokenizer: try loadTokenizer(tokenizerURL), source: tokenizerURL.path,
                                       batchRows: batchRows)
    }

    /// The model reads (context + continuation)[-(window + 1):][:-1]: the continuation whole, the context's end.
    func testTruncationKeepsTheContinuationAndTheEndOfTheContext() throws {
        let tokens = ChoiceTokens(context: Array(100..<140), continuation: [7, 8, 9])
        XCTAssertEqual(tokens.input(window: 16), Array(126..<140) + [7, 8])
        XCTAssertEqual(ChoiceTokens(context: [1, 2], continuation: [3]).input(window: 16), [1, 2])

        let scorer = try scorer()
        let long = try scorer.score([tokens])[0]
        let cut = try scorer.score([ChoiceTokens(context: Array(126..<140), continuation: [7, 8, 9])])[0]
        XCTAssertEqual(long.inputLength, 16)
        XCTAssertEqual(long.logLikelihood, cut.logLikelihood, accuracy: 1e-9)
        let shorter = try scorer.score([ChoiceTokens(context: Array(127..<140), continuation: [7, 8, 9])])[0]
        XCTAssertNotEqual(long.logLikelihood, shorter.logLikelihood, "the context's first kept token matters")
    }

    func testAContinuationLongerThanTheWindowIsRefused() throws {
        XCTAssertThrowsError(try scorer().score([ChoiceTokens(context: [1], continuation: Array(0..<17))])) {
            XCTAssertEqual("\($0)", "a continuation of 17 tokens does not fit the model's window of 16 tokens")
        }
    }

    /// acc takes the largest sum; acc_norm divides each by its continuation's UTF-8 bytes (" é" is 3 bytes, 2 characters).
    func testAccNormDividesByTheContinuationsBytes() {
        XCTAssertTrue(MultipleChoiceEvaluation.choose([-6, -4], continuations: [" aaaaaaaaa", " b"]) == (acc: 1, accNorm: 0))
        XCTAssertTrue(MultipleChoiceEvaluation.choose([-3, -4], continuations: [" é", " bb"]) == (acc: 0, accNorm: 0))
        // -2.9 / 3 bytes = -0.967 beats -2 / 2 = -1.0; by characters (-1.45) it would lose.
        XCTAssertTrue(MultipleChoiceEvaluation.choose([-2.9, -2], continuations: [" é", " b"]) == (acc: 1, accNorm: 0))
        XCTAssertTrue(MultipleChoiceEvaluation.choose([-1, -1], continuations: [" a", " b"]) == (acc: 0, accNorm: 0), "ties: the first")
    }

    /// Python's str.rstrip whitespace moves from the context to the continuation, "\r\n" and U+001C…U+001F included.
    func testTrailingWhitespaceMovesToTheContinuation() throws {
        let encoder = try scorer().encoder
        let tokenizer = encoder.tokenizer
        for (context, head, tail) in [("Answer: ", "Answer:", " "), ("line\r\n", "line", "\r\n"), ("a\u{1C}\t", "a", "\u{1C}\t"),
                                      ("no space", "no space", "")] {
            let pair = try encoder.encode(context: context, continuation: "yes")
            XCTAssertEqual(pair.context, tokenizer.encode(head), context.debugDescription)
            XCTAssertEqual(pair.continuation, Array(tokenizer.encode(head + tail + "yes").dropFirst(pair.context.count)))
        }
        let empty = try encoder.encode(context: "", continuation: " yes")
        XCTAssertEqual(empty.context, [tokenizer.specialTokenID("<|endoftext|>")!])
        XCTAssertEqual(empty.continuation, tokenizer.encode(" yes"))
    }
}
