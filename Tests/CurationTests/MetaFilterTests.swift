import Curation
import XCTest

/// filter keeps by a meta field (range, equals, in, top or bottom percent); set_meta stamps fields.
final class MetaFilterTests: XCTestCase {
    private func scored(_ scores: [MetaValue?]) -> [CurationDocument] {
        scores.enumerated().map { index, score in
            var document = CurationDocument(text: "t\(index)", meta: ["source": .string("s")], index: index)
            if let score { document.meta["score"] = score }
            return document
        }
    }

    private func kept(_ keys: String, _ scores: [MetaValue?]) throws -> [Int] {
        try runSteps([try makeStep("filter", keys)], scored(scores)).kept.map(\.index)
    }

    func testRangeEqualsAndIn() throws {
        let scores: [MetaValue?] = [.number(0.2), .number(0.5), .number(0.9), nil, .string("0.7")]
        XCTAssertEqual(try kept("field: score\nmin: 0.5", scores), [1, 2])
        XCTAssertEqual(try kept("field: score\nmin: 0.3\nmax: 0.6", scores), [1])
        XCTAssertEqual(try kept("field: score\nmax: 0.6\nmissing: keep", scores), [0, 1, 3, 4])
        XCTAssertEqual(try kept("field: score\nequals: \"0.7\"", scores), [4])
        XCTAssertEqual(try kept("field: score\nin: [\"0.9\", \"0.7\"]", scores), [2, 4])
        let result = try runSteps([try makeStep("filter", "field: score\nmin: 0.5")], scored(scores))
        XCTAssertEqual(result.dropped.map(\.reason.detail), ["filter: score 0.2 < 0.5", "filter: no meta.score", "filter: meta.score is not a number"])
    }

    func testADottedFieldReadsNestedMeta() throws {
        let documents = [CurationDocument(text: "a", meta: ["lang": .object(["code": .string("en"), "score": .number(0.9)])], index: 0),
                         CurationDocument(text: "b", meta: ["lang": .object(["code": .string("de"), "score": .number(0.99)])], index: 1)]
        let result = try runSteps([try makeStep("filter", "field: lang.code\nequals: en")], documents)
        XCTAssertEqual(result.kept.map(\.index), [0])
    }

    func testTopAndBottomPercentUseTheWholeCorpusAndBreakTiesByOrder() throws {
        let scores: [MetaValue?] = [3, 9, 5, 9, 1, 7, 5, 5, 2, 8].map { .number($0) }
        XCTAssertEqual(try kept("field: score\nkeep_top_percent: 30", scores), [1, 3, 9])
        XCTAssertEqual(try kept("field: score\nkeep_top_percent: 50", scores), [1, 2, 3, 5, 9])   // 5 at the cut: the first
        XCTAssertEqual(try kept("field: score\nkeep_bottom_percent: 20", scores), [4, 8])
        XCTAssertEqual(try kept("field: score\nkeep_top_percent: 100", scores), Array(0..<10))
        XCTAssertTrue(try makeStep("filter", "field: score\nkeep_top_percent: 10").needsCorpusPass)
        XCTAssertFalse(try makeStep("filter", "field: score\nmin: 1").needsCorpusPass)
    }

    func testAFilterNeedsExactlyOneTest() {
        assertThrows(["steps[0] (filter): needs exactly one test", "(got min, equals)"]) {
            _ = try makeStep("filter", "field: x\nmin: 1\nequals: a")
        }
        assertThrows(["steps[0] (filter): needs a 'field:'"]) { _ = try makeStep("filter", "min: 1") }
        assertThrows(["keep_top_percent must be a percentage in (0, 100]"]) { _ = try makeStep("filter", "field: x\nkeep_top_percent: 150") }
        assertThrows(["missing must be one of drop, keep, got 'skip'"]) { _ = try makeStep("filter", "field: x\nmin: 1\nmissing: skip") }
    }

    func testSetMetaStampsFieldsWithTheirYAMLTypes() throws {
        let step = try makeStep("set_meta", "fields:\n  year: 1623\n  age_bucket: folio\n  code: \"0042\"\n  source: overwritten")
        let result = try runSteps([step], documents(["a"]))
        XCTAssertEqual(result.kept[0].meta, ["year": .number(1623), "age_bucket": .string("folio"), "code": .string("0042"),
                                             "source": .string("overwritten")])
        let keeping = try makeStep("set_meta", "fields: {source: other, year: 1}\noverwrite: false")
        XCTAssertEqual(try runSteps([keeping], documents(["a"])).kept[0].meta, ["source": .string("test.jsonl"), "year": .number(1)])
    }
}
