import Foundation
import TextData
import XCTest

final class GPT2PreTokenizerTests: XCTestCase {
    func testSpaceJoinsTheFollowingWord() {
        XCTAssertEqual(GPT2PreTokenizer.pieces("Hello world"), ["Hello", " world"])
    }

    func testWhitespaceRunLeavesItsLastSpaceToTheNextWord() {
        XCTAssertEqual(GPT2PreTokenizer.pieces("a   b"), ["a", "  ", " b"])
        XCTAssertEqual(GPT2PreTokenizer.pieces("a\n\nb"), ["a", "\n", "\n", "b"])
    }

    func testTrailingWhitespaceIsOnePiece() {
        XCTAssertEqual(GPT2PreTokenizer.pieces("end  \n "), ["end", "  \n "])
    }

    func testContractionsAreCaseSensitivePieces() {
        XCTAssertEqual(GPT2PreTokenizer.pieces("don't we'll"), ["don", "'t", " we", "'ll"])
        XCTAssertEqual(GPT2PreTokenizer.pieces("DON'T"), ["DON", "'", "T"])
    }

    func testLettersDigitsAndOtherSymbolsAreSeparateRuns() {
        XCTAssertEqual(GPT2PreTokenizer.pieces("abc123!?def"), ["abc", "123", "!?", "def"])
        XCTAssertEqual(GPT2PreTokenizer.pieces("café ½"), ["café", " ½"])
    }

    func testPiecesEqualHuggingFaceByteLevelPreTokenizer() throws {
        for fixture in try TokenizerFixture.cases("hf_bpe512.encodings.json") {
            let pieces = GPT2PreTokenizer.pieces(fixture.text).map { ByteLevelAlphabet.encode(Array($0.utf8)) }
            XCTAssertEqual(pieces, fixture.pieces, "text: \(fixture.text.debugDescription.prefix(80))")
        }
    }

    /// The pattern run by ICU, the slow reference: `\s` spelled as White_Space, which is what Oniguruma (used by
    /// `tokenizers`) matches and ICU's own `\s` is not (it omits U+000B and U+0085).
    private static let reference = try! NSRegularExpression(pattern:
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+"#)

    private func referencePieces(_ text: String) -> [String] {
        let string = text as NSString
        return Self.reference.matches(in: text, range: NSRange(location: 0, length: string.length))
            .map { string.substring(with: $0.range) }
    }

    func testMatchesTheRegularExpressionOnRandomText() {
        let pool: [Character] = ["a", "Z", "é", "ж", "中", "1", "٣", "½", " ", " ", "\n", "\t", "\u{0B}", "\u{85}", "\u{A0}",
                                 "\u{3000}", "'", "s", "t", "r", "e", "l", "d", "m", "v", ".", "!", "-", "😀", "\u{301}"]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {  // xorshift, so failures reproduce
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
            return Int(seed % UInt64(pool.count))
        }
        for _ in 0..<2000 {
            let text = String((0..<(next() + 1)).map { _ in pool[next()] })
            XCTAssertEqual(GPT2PreTokenizer.pieces(text), referencePieces(text), "text: \(text.debugDescription)")
        }
    }

    func testMatchesTheRegularExpressionOnShakespeare() throws {
        let sample = try TokenizerFixture.sample()
        XCTAssertEqual(GPT2PreTokenizer.pieces(sample), referencePieces(sample))
    }
}
