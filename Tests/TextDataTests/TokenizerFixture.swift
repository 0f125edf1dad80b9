import Foundation
import TestSupport
import XCTest

/// Files written by scripts/make_tokenizer_fixtures.py with the Python `tokenizers` package.
enum TokenizerFixture {
    static let directory = fixtureURL("TextDataTests")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func sample() throws -> String { try String(contentsOf: url("sample.txt"), encoding: .utf8) }

    /// One test string with Hugging Face's ids for it and, for BPE, its ByteLevel pre-tokenizer pieces.
    struct Case {
        var text: String
        var ids: [Int]
        var pieces: [String]?
    }

    static func cases(_ name: String) throws -> [Case] {
        let data = try Data(contentsOf: url(name))
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try XCTUnwrap(root["cases"] as? [[String: Any]])
        return try cases.map { entry in
            Case(text: try XCTUnwrap(entry["text"] as? String), ids: try XCTUnwrap(entry["ids"] as? [Int]),
                 pieces: entry["pieces"] as? [String])
        }
    }
}
