import Foundation
import TestSupport
import XCTest

/// `pretrain curate` as a user runs it: the table and files of a run, and one-line errors with a non-zero exit.
final class CurateCommandLineTests: XCTestCase {
    private func write(_ text: String, _ name: String, in root: URL) throws {
        try text.write(to: root.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func testARunPrintsItsTableAndWritesTheOutput() throws {
        let root = try makeTemporaryDirectory()
        let passage = (0..<60).map { "word\($0)" }.joined(separator: " ")
        try write([#"{"text": "\#(passage)"}"#, #"{"text": "\#(passage)"}"#, "{broken", #"{"text": "fine words here"}"#].joined(separator: "\n"),
                  "corpus.jsonl", in: root)
        try write("steps:\n  - kind: normalize\n  - kind: exact_dedup\n", "p.yaml", in: root)

        let strict = try runPretrain(["curate", "corpus.jsonl", "--pipeline", "p.yaml", "--out", "out"], in: root)
        XCTAssertEqual(strict.status, 1, strict.output)
        XCTAssertTrue(strict.output.contains("Error: corpus.jsonl line 3: not a JSON object with a string \"text\" (not valid JSON)"), strict.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("out").path))

        let skipping = try runPretrain(["curate", "corpus.jsonl", "--pipeline", "p.yaml", "--out", "out", "--skip-bad-lines"], in: root)
        XCTAssertEqual(skipping.status, 0, skipping.output)
        XCTAssertTrue(skipping.output.contains("exact_dedup"), skipping.output)
        XCTAssertTrue(skipping.output.contains("exact_duplicate (1)"), skipping.output)
        XCTAssertTrue(skipping.output.contains("skipped 1 bad line (first: corpus.jsonl line 3:"), skipping.output)
        XCTAssertTrue(skipping.output.contains("kept 2 of 3 documents"), skipping.output)
        let curated = try String(contentsOf: root.appendingPathComponent("out/curated.jsonl"), encoding: .utf8)
        XCTAssertEqual(curated.split(separator: "\n").count, 2)

        let again = try runPretrain(["curate", "corpus.jsonl", "--pipeline", "p.yaml", "--out", "out", "--skip-bad-lines"], in: root)
        XCTAssertEqual(again.status, 1, again.output)
        XCTAssertTrue(again.output.contains("the output directory is not empty (use --overwrite to replace it)"), again.output)
    }

    func testUserMistakesAreOneLineErrors() throws {
        let root = try makeTemporaryDirectory()
        try write(#"{"text": "a"}"#, "corpus.jsonl", in: root)
        try write("steps:\n  - kind: near_dedup\n    bands: 0\n", "bad.yaml", in: root)
        try write("steps:\n  - kind: normalise\n", "typo.yaml", in: root)
        try write("steps: [unclosed\n", "broken.yaml", in: root)
        let cases: [([String], String)] = [
            (["missing.jsonl", "--pipeline", "bad.yaml"], "Error: missing.jsonl: cannot read the input: no such file or directory"),
            (["corpus.jsonl", "--pipeline", "none.yaml"], "Error: none.yaml: cannot read the pipeline: no such file or directory"),
            (["corpus.jsonl", "--pipeline", "bad.yaml"], "Error: bad.yaml:3:12: steps[0] (near_dedup): bands must be ≥ 1, got 0"),
            (["corpus.jsonl", "--pipeline", "typo.yaml"], "Error: typo.yaml:2:11: steps[0]: unknown step kind 'normalise' (did you mean normalize?)"),
            (["corpus.jsonl", "--pipeline", "broken.yaml"], "Error: broken.yaml: not valid YAML"),
        ]
        for (arguments, expected) in cases {
            let result = try runPretrain(["curate"] + arguments + ["--out", "out"], in: root)
            XCTAssertEqual(result.status, 1, result.output)
            XCTAssertTrue(result.output.contains(expected), "expected '\(expected)' in: \(result.output)")
            XCTAssertEqual(result.output.split(separator: "\n").count, 1, result.output)
        }
    }

    func testTheBenchPrintsOneJSONLineWithThroughputPerStep() throws {
        let result = try runPretrain(["bench", "curate", repositoryRoot.appendingPathComponent("data/shakespeare/macbeth.txt").path,
                                      "--pipeline", repositoryRoot.appendingPathComponent("pipelines/curate-example.yaml").path,
                                      "--copies", "2", "--repeats", "1"])
        XCTAssertEqual(result.status, 0, result.output)
        let line = result.output.split(separator: "\n").first { $0.hasPrefix("{") } ?? ""
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], result.output)
        XCTAssertGreaterThan(report["mb_per_s"] as? Double ?? 0, 0)
        XCTAssertEqual(report["threads"] as? Int, 1)
        let steps = try XCTUnwrap(report["per_step"] as? [String: Any])
        XCTAssertEqual(Set(steps.keys), ["0_normalize", "1_exact_dedup", "2_near_dedup", "3_boilerplate_lines", "4_quality", "5_filter", "6_set_meta"])
        // The second copy differs from the first by one word a passage (a passage shorter than the word's position
        // stays the same): near dedup finds them, exact dedup only the unchanged few.
        let documents = report["documents"] as? Int ?? 0
        XCTAssertGreaterThan((steps["1_exact_dedup"] as? [String: Any])?["kept"] as? Int ?? 0, documents * 95 / 100)
        XCTAssertLessThanOrEqual((steps["2_near_dedup"] as? [String: Any])?["kept"] as? Int ?? .max, documents / 2 + 1)
    }
}
