import Foundation
import TextData
import Training
import XCTest

/// Conditional generation's prompt: <|endoftext|>, the control token, the prompt's tokens; the banned control tokens
/// by id; a token that is not special is refused, naming the tokenizer.
final class ConditionalGenerationTests: XCTestCase {
    private let tokenizer = ByteLevelBPETokenizer.train(documents: ["to be or not to be, that is the question"], vocabularySize: 300,
                                             specialTokens: ["<|endoftext|>", "<|good|>", "<|bad|>"])

    func testTheConditionFollowsEndOfTextAndTheOtherTagIsBanned() throws {
        let prompt = try GenerationPrompt(tokenizer: tokenizer, prompt: "to be", condition: "<|good|>", banned: ["<|bad|>"],
                                          source: "tok.json")
        XCTAssertEqual(prompt.ids, [0, 1] + tokenizer.encode("to be"))
        XCTAssertEqual(prompt.banned, [2])
        XCTAssertEqual(prompt.stop, 0)
        let plain = try GenerationPrompt(tokenizer: tokenizer, prompt: "to be", source: "tok.json")
        XCTAssertEqual(plain.ids, [0] + tokenizer.encode("to be"))
        XCTAssertTrue(plain.banned.isEmpty)
    }

    func testATokenThatIsNotSpecialIsRefused() {
        XCTAssertThrowsError(try GenerationPrompt(tokenizer: tokenizer, prompt: "", condition: "<|nice|>", source: "tok.json")) {
            XCTAssertTrue("\($0)".hasPrefix("--condition '<|nice|>' is not a special token of tok.json"), "\($0)")
        }
        XCTAssertThrowsError(try GenerationPrompt(tokenizer: tokenizer, prompt: "", banned: ["be"], source: "tok.json")) {
            XCTAssertTrue("\($0)".hasPrefix("--ban 'be' is not a special token of tok.json"), "\($0)")
        }
    }
}
