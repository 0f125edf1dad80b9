import Curation
import Foundation
import TestSupport
import XCTest

/// A whole run: its output files, their determinism, the accounting, and the output directory's all-or-nothing update.
final class CurationRunTests: XCTestCase {
    /// A JSONL corpus of Shakespeare passages with exact copies, an edited copy, boilerplate lines, a short document
    /// and an empty one; and one play as a .txt file.
    private func makeCorpus(in root: URL) throws -> [String] {
        let play = try String(contentsOf: repositoryRoot.appendingPathComponent("data/shakespeare/macbeth.txt"), encoding: .utf8)
        let words = play.split(whereSeparator: \.isWhitespace).map(String.init)
        var lines: [String] = []
        for number in 0..<60 {
            let passage = words[(number * 150)..<(number * 150 + 150)].joined(separator: " ")
            let text = "Printed from the Folio Society website\n\(passage)\nAll rights reserved."
            lines.append(MetaValue.object(["text": .string(text), "meta": .object(["n": .number(Double(number))]), "id": .string("m\(number)")]).jsonText)
        }
        lines.append(lines[3])
        lines.append(lines[4].replacingOccurrences(of: "\\n", with: "  \\r\\n"))   // the same after normalize
        let edited = words[(10 * 150)..<(10 * 150 + 150)].enumerated().map { $0.offset == 75 ? "CHANGED" : $0.element }
        lines.append(MetaValue.object(["text": .string(edited.joined(separator: " "))]).jsonText)
        lines.append(#"{"text": "Too short to keep."}"#)
        lines.append(#"{"text": "   "}"#)
        try lines.joined(separator: "\n").write(to: root.appendingPathComponent("passages.jsonl"), atomically: true, encoding: .utf8)
        try play.write(to: root.appendingPathComponent("macbeth.txt"), atomically: true, encoding: .utf8)
        let pipeline = """
            steps:
              - kind: normalize
              - kind: exact_dedup
              - kind: near_dedup
              - kind: boilerplate_lines
                max_document_fraction: 0.5
              - kind: quality
                max_duplicate_line_fraction: 0.6
              - kind: filter
                field: quality_word_count
                keep_bottom_percent: 90
              - kind: set_meta
                fields: {year: 1623}
            """
        try pipeline.write(to: root.appendingPathComponent("pipeline.yaml"), atomically: true, encoding: .utf8)
        return [root.appendingPathComponent("passages.jsonl").path, root.appendingPathComponent("macbeth.txt").path]
    }

    private func run(_ inputs: [String], _ root: URL, out: String, overwrite: Bool = false, splitBy: String? = nil) throws -> CurationSummary {
        var run = CurationRun(input: try DocumentInput(paths: inputs),
                              pipeline: try CurationPipeline.load(root.appendingPathComponent("pipeline.yaml").path),
                              output: root.appendingPathComponent(out))
        run.overwrite = overwrite
        run.splitBy = splitBy
        return try run.run()
    }

    func testARunWritesItsFilesAndCountsEveryStep() throws {
        let root = try makeTemporaryDirectory()
        let inputs = try makeCorpus(in: root)
        let summary = try run(inputs, root, out: "out")
        let out = root.appendingPathComponent("out")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: out.path)),
                       ["curated.jsonl", "stats.json", "report.html", "near_dup_clusters.jsonl"])
        XCTAssertEqual(summary.input.documents, 66)
        let steps = Dictionary(uniqueKeysWithValues: summary.steps.map { ($0.kind, $0.total) })
        XCTAssertEqual(steps["normalize"]?.dropped, ["empty": 1])
        XCTAssertEqual(steps["exact_dedup"]?.dropped, ["exact_duplicate": 2])
        XCTAssertEqual(steps["near_dedup"]?.dropped, ["near_duplicate": 1])
        XCTAssertEqual(steps["boilerplate_lines"]?.documentsChanged, 60)
        XCTAssertEqual(steps["quality"]?.dropped, ["min_words": 1])
        XCTAssertEqual(steps["filter"]?.documentsIn, 61)
        XCTAssertEqual(steps["filter"]?.documentsKept, 55)   // ⌈0.9 × 61⌉
        for step in summary.steps.dropLast() {
            XCTAssertEqual(step.total.documentsKept, summary.steps[step.position + 1].total.documentsIn, step.kind)
        }
        XCTAssertEqual(summary.outputDocuments, 55)
        XCTAssertEqual(summary.steps[0].bySource["macbeth.txt"]?.documentsIn, 1)

        // curated.jsonl: one document a line, boilerplate gone, meta stamped, keys sorted.
        let curated = try String(contentsOf: out.appendingPathComponent("curated.jsonl"), encoding: .utf8)
        let lines = curated.split(separator: "\n")
        XCTAssertEqual(lines.count, 55)
        XCTAssertFalse(curated.contains("Folio Society website"))
        XCTAssertTrue(lines[0].hasPrefix(#"{"meta":{"boilerplate_lines_removed":2,"id":"m0","n":0,"quality_alpha_word_fraction":"#), String(lines[0].prefix(200)))
        XCTAssertTrue(lines.allSatisfy { $0.contains(#""year":1623"#) })

        let clusters = try String(contentsOf: out.appendingPathComponent("near_dup_clusters.jsonl"), encoding: .utf8)
        XCTAssertEqual(clusters.split(separator: "\n").count, 1)
        XCTAssertTrue(clusters.hasPrefix(#"{"cluster":0,"kept":10,"members":[{"index":10,"jaccard":1,"origin":"passages.jsonl line 11","snippet":"#), clusters)
        XCTAssertTrue(clusters.contains(#""origin":"passages.jsonl line 63""#), clusters)

        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("stats.json"))) as! [String: Any]
        XCTAssertEqual((stats["output"] as! [String: Any])["documents"] as? Int, 55)
        let statSteps = stats["steps"] as! [[String: Any]]
        XCTAssertEqual(statSteps.map { $0["kind"] as! String }, summary.steps.map(\.kind))
        XCTAssertEqual(((statSteps[1]["by_source"] as! [String: Any])["passages.jsonl"] as! [String: Any])["documents_dropped"] as? Int, 2)

        let report = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("<svg"))
        XCTAssertTrue(report.contains("quality_mean_word_length"))
        XCTAssertTrue(report.contains("exact_duplicate: 2"))
        XCTAssertFalse(report.contains("<script"))
    }

    /// --split-by: the kept documents again, one file per value of the field (file names escaped), in curated.jsonl's order.
    func testSplitByWritesOneFilePerValue() throws {
        let root = try makeTemporaryDirectory()
        let inputs = try makeCorpus(in: root)
        _ = try run(inputs, root, out: "out", splitBy: "source")
        let out = root.appendingPathComponent("out")
        let split = out.appendingPathComponent("by-source")
        // The play is the longest document and the word-count filter drops it: one source is left.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: split.path), ["passages.jsonl.jsonl"])
        let curated = try String(contentsOf: out.appendingPathComponent("curated.jsonl"), encoding: .utf8)
        XCTAssertEqual(try String(contentsOf: split.appendingPathComponent("passages.jsonl.jsonl"), encoding: .utf8), curated)
        _ = try run(inputs, root, out: "years", splitBy: "year")   // a number: its JSON text
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("years/by-year").path), ["1623.jsonl"])
        _ = try run(inputs, root, out: "none", splitBy: "no/such")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("none/by-no%2Fsuch").path), ["_missing.jsonl"])
    }

    func testTwoRunsWriteTheSameBytes() throws {
        let root = try makeTemporaryDirectory()
        let inputs = try makeCorpus(in: root)
        _ = try run(inputs, root, out: "a")
        _ = try run(inputs, root, out: "b")
        for name in ["curated.jsonl", "stats.json", "near_dup_clusters.jsonl"] {
            let a = try Data(contentsOf: root.appendingPathComponent("a/\(name)"))
            XCTAssertFalse(a.isEmpty, name)
            XCTAssertEqual(a, try Data(contentsOf: root.appendingPathComponent("b/\(name)")), name)
        }
    }

    func testAFailedRunLeavesNoOutputAndANonEmptyOneIsKeptWithoutOverwrite() throws {
        let root = try makeTemporaryDirectory()
        let inputs = try makeCorpus(in: root)
        try "{\"text\": \"fine\"}\n{\"text\": broken}\n".write(to: root.appendingPathComponent("bad.jsonl"), atomically: true, encoding: .utf8)
        assertThrows(["bad.jsonl line 2: not a JSON object with a string \"text\""]) {
            _ = try run(inputs + [root.appendingPathComponent("bad.jsonl").path], root, out: "failed")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.contains("failed") }
        XCTAssertEqual(left, [], "a failed run left \(left)")

        let out = root.appendingPathComponent("existing")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try "keep me".write(to: out.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        assertThrows(["existing: the output directory is not empty (use --overwrite to replace it)"]) { _ = try run(inputs, root, out: "existing") }
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("notes.txt"), encoding: .utf8), "keep me")
        _ = try run(inputs, root, out: "existing", overwrite: true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("notes.txt").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("curated.jsonl").path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix(".") }, [])
    }
}
