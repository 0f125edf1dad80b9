import Foundation
import TestSupport
import TextData
import XCTest

/// JSON Lines input is split on newline bytes: Windows line ends, blank lines and line numbers.
final class TextDocumentsTests: XCTestCase {
    func testCRLFLinesSplitAndBadLinesAreNamedByNumber() throws {
        let directory = try makeTemporaryDirectory("jsonl")
        let url = directory.appendingPathComponent("docs.jsonl")
        let text = "{\"text\": \"caf\u{e9}\"}\r\n\r\n \t\r\n{\"text\": \"Lend me your ears.\"}\r\nnot json\r\n{\"text\": \"last\"}"
        try Data(text.utf8).write(to: url)
        let read = TextDocuments.read(url)
        XCTAssertEqual(read.documents, ["caf\u{e9}", "Lend me your ears.", "last"])
        XCTAssertEqual(read.problem, "1 of 4 lines unusable (line 5 is not a JSON object with a string \"text\")")
    }

    func testBlankFileIsEmpty() throws {
        let url = try makeTemporaryDirectory("jsonl").appendingPathComponent("blank.jsonl")
        try Data("\n \r\n\t\n".utf8).write(to: url)
        XCTAssertEqual(TextDocuments.read(url).problem, "empty")
    }
}
