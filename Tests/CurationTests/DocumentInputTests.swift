import Curation
import Foundation
import TestSupport
import XCTest

/// Reading documents: JSONL lines (fields besides text into meta, source added), text files, blank lines, lines
/// longer than a read chunk, and malformed lines as errors naming the file and line, or skipped and counted.
final class DocumentInputTests: XCTestCase {
    private func read(_ input: DocumentInput) throws -> ([CurationDocument], DocumentInput.Counts) {
        var documents: [CurationDocument] = []
        let counts = try input.forEach { documents.append($0) }
        return (documents, counts)
    }

    func testJSONLFieldsGoIntoMetaAndSourceIsTheFileName() throws {
        let root = try makeTemporaryDirectory()
        let lines = [#"{"text": "one", "meta": {"year": 1623}, "url": "http://a", "id": 7}"#, "", "   ",
                     #"{"text": "two", "meta": {"source": "given", "id": "meta wins"}, "id": 8}"#]
        try (lines.joined(separator: "\r\n") + "\r\n").write(to: root.appendingPathComponent("corpus.jsonl"), atomically: true, encoding: .utf8)
        try "A play.\n".write(to: root.appendingPathComponent("play.txt"), atomically: true, encoding: .utf8)
        let (documents, counts) = try read(try DocumentInput(paths: [root.path]))
        XCTAssertEqual(documents.map(\.text), ["one", "two", "A play.\n"])
        XCTAssertEqual(documents[0].meta, ["year": .number(1623), "url": .string("http://a"), "id": .number(7), "source": .string("corpus.jsonl")])
        XCTAssertEqual(documents[1].meta, ["source": .string("given"), "id": .string("meta wins")])
        XCTAssertEqual(documents[2].meta, ["source": .string("play.txt")])
        XCTAssertEqual(documents.map(\.index), [0, 1, 2])
        XCTAssertEqual(documents.map(\.line), [1, 4, 0])
        XCTAssertEqual(counts.documents, 3)
        XCTAssertEqual(counts.files, 2)
    }

    func testLinesAcrossReadChunksAndLongerThanAChunk() throws {
        // Reads are 1 MiB; lines of growing length, one of 3 MiB, cross many chunk ends.
        let root = try makeTemporaryDirectory()
        var texts: [String] = []
        var file = ""
        for number in 0..<400 {
            let text = String(repeating: "w\(number) ", count: number * 37 % 2000 + 1)
            texts.append(text)
            file += MetaValue.object(["text": .string(text)]).jsonText + "\n"
        }
        let long = String(repeating: "long ", count: 3 << 20 / 5)
        texts.append(long)
        file += MetaValue.object(["text": .string(long)]).jsonText   // no final newline
        let url = root.appendingPathComponent("big.jsonl")
        try file.write(to: url, atomically: true, encoding: .utf8)
        let (documents, counts) = try read(try DocumentInput(paths: [url.path]))
        XCTAssertEqual(documents.map(\.text), texts)
        XCTAssertEqual(counts.bytes, file.utf8.count)
    }

    func testAMalformedLineIsAnErrorNamingTheFileAndLine() throws {
        let root = try makeTemporaryDirectory()
        let url = root.appendingPathComponent("corpus.jsonl")
        try [#"{"text": "fine"}"#, #"{"text": 17}"#, #"{"txt": "x"}"#, "not json", #"{"text": "x", "meta": [1]}"#]
            .joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        let input = try DocumentInput(paths: [url.path])
        assertThrows(["\(url.path) line 2: not a JSON object with a string \"text\""]) { _ = try read(input) }

        let skipping = try DocumentInput(paths: [url.path], skipBadLines: true)
        let (documents, counts) = try read(skipping)
        XCTAssertEqual(documents.map(\.text), ["fine"])
        XCTAssertEqual(counts.badLines, 4)
        XCTAssertEqual(counts.badLineExamples, [
            "\(url.path) line 2: not a JSON object with a string \"text\"",
            "\(url.path) line 3: not a JSON object with a string \"text\"",
            "\(url.path) line 4: not a JSON object with a string \"text\" (not valid JSON)",
            "\(url.path) line 5: \"meta\" is not a JSON object",
        ])
    }

    func testAMissingInputIsAnErrorNamingIt() {
        assertThrows(["no/such/corpus.jsonl", "no such file or directory"]) { _ = try DocumentInput(paths: ["no/such/corpus.jsonl"]) }
    }
}
