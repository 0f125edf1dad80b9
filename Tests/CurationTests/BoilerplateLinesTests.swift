import Curation
import XCTest

/// boilerplate_lines removes lines found in more than the allowed share of documents, and drops what is left empty.
final class BoilerplateLinesTests: XCTestCase {
    func testLinesInManyDocumentsAreRemoved() throws {
        // 20 documents; the footer is in all, the menu in 6 (30 %), a shared quote in 2.
        var texts: [String] = []
        for number in 0..<20 {
            var lines = ["Home | About | Contact"]
            if number >= 6 { lines = [] }
            lines += ["Article \(number) says something of its own.", "", "Shared quote line.", "© 2024 Example Corp"]
            if number >= 2 { lines.remove(at: lines.count - 2) }
            texts.append(lines.joined(separator: "\n"))
        }
        texts.append("© 2024 Example Corp\n  Home | About | Contact  ")   // nothing but boilerplate
        let step = try makeStep("boilerplate_lines", "max_document_fraction: 0.25\nmin_documents: 3")
        let result = try runSteps([step], documents(texts))
        XCTAssertEqual(result.kept.count, 20)
        XCTAssertEqual(result.kept[0].text, "Article 0 says something of its own.\n\nShared quote line.")
        XCTAssertEqual(result.kept[0].meta["boilerplate_lines_removed"], .number(2))
        XCTAssertEqual(result.kept[10].text, "Article 10 says something of its own.")
        XCTAssertEqual(result.dropped.map(\.index), [20])
        XCTAssertEqual(result.dropped[0].reason.key, "boilerplate_only")
    }

    func testMinDocumentsGuardsSmallCorpora() throws {
        // In 3 of 4 documents (75 %) but below min_documents 5: kept.
        let texts = ["menu\none", "menu\ntwo", "menu\nthree", "four"]
        let result = try runSteps([try makeStep("boilerplate_lines")], documents(texts))
        XCTAssertEqual(result.kept.map(\.text), texts)
    }
}
