import SpeechSynthesis
import XCTest

final class ShakespeareLinesTests: XCTestCase {
    func testKeepsVerseAndDropsTagsHeadingsAndDirections() {
        XCTAssertEqual(ShakespeareLines.speakable("Before my God, I might not this believe"),
                       "Before my God, I might not this believe")
        XCTAssertEqual(ShakespeareLines.speakable("  Did slay this Fortinbras; who, by a seal'd compact,--"),
                       "Did slay this Fortinbras; who, by a seal'd compact,")
        for dropped in ["Hor.", "ACT I. SCENE II. Elsinore.", "Enter Hamlet and Horatio, with a letter.",
                        "Exeunt all but Hamlet and the Ghost.", "KING HENRY AND QUEEN MARGARET", "Is it?",
                        "Sonnet 18 is a lovely one indeed", "[Aside] what a piece of work is man"] {
            XCTAssertNil(ShakespeareLines.speakable(dropped), dropped)
        }
    }

    func testSplitsFollowTheTextCorpusAndShareNoLine() throws {
        let lines = try ShakespeareLines(directory: Repository.shakespeare)
        XCTAssertGreaterThan(lines.train.count, 50_000)
        XCTAssertGreaterThan(lines.dev.count, 1_000)
        XCTAssertGreaterThan(lines.test.count, 500)
        XCTAssertTrue(lines.dev.contains("Before my God, I might not this believe"))   // Hamlet I.i
        XCTAssertTrue(Set(lines.train).isDisjoint(with: lines.dev))
        XCTAssertTrue(Set(lines.train).isDisjoint(with: lines.test))
        XCTAssertTrue(Set(lines.dev).isDisjoint(with: lines.test))
    }

    func testAMissingDirectoryIsNamed() {
        XCTAssertThrowsError(try ShakespeareLines(directory: URL(fileURLWithPath: "/nonexistent/shakespeare"))) {
            XCTAssertTrue("\($0)".contains("/nonexistent/shakespeare") && "\($0)".contains("--text-dir"), "\($0)")
        }
    }
}
