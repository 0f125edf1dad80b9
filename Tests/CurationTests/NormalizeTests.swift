import Curation
import XCTest

/// normalize: NFC, line endings, trailing spaces, blank-line runs, trimming, and dropping what is left empty.
final class NormalizeTests: XCTestCase {
    private func normalized(_ text: String, _ keys: String = "") throws -> String? {
        try runSteps([try makeStep("normalize", keys)], documents([text])).kept.first?.text
    }

    func testDefaultsComposeNFCFixLineEndingsAndWhitespace() throws {
        let decomposed = "Cafe\u{301}"   // e + combining acute
        let result = try normalized("\n\n  \(decomposed) \t\r\nsecond line  \r\n\n\n\n\rthird\n\n")
        XCTAssertEqual(result, "Caf\u{E9}\nsecond line\n\nthird")
        XCTAssertEqual(Array(result!.utf8), Array("Caf\u{E9}\nsecond line\n\nthird".utf8), "NFC bytes, not just canonically equal")
    }

    func testOptionsTurnRulesOff() throws {
        let text = "a  b \r\n\n\n\nc\n"
        XCTAssertEqual(try normalized(text, "collapse_spaces: true\nmax_blank_lines: 0"), "a b\nc")
        XCTAssertEqual(try normalized(text, "max_blank_lines: null\nline_endings: false\nstrip_trailing_spaces: false\ntrim: false"),
                       "a  b \r\n\n\n\nc\n")
        XCTAssertEqual(try normalized(text, "trim: false"), "a  b\n\nc\n")
        XCTAssertEqual(try normalized("Cafe\u{301}", "nfc: false").map { Array($0.utf8) }, Array("Cafe\u{301}".utf8))
    }

    func testAnEmptyTextIsDroppedUnlessAsked() throws {
        let result = try runSteps([try makeStep("normalize")], documents(["  \n\t\r\n ", "", "x"]))
        XCTAssertEqual(result.kept.map(\.text), ["x"])
        XCTAssertEqual(result.dropped.map(\.reason.key), ["empty", "empty"])
        XCTAssertEqual(try normalized(" \n ", "drop_empty: false"), "")
    }
}
