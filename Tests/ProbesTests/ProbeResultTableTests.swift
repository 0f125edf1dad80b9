import Foundation
import Probes
import TestSupport
import XCTest

/// The markdown tables of probe results: a row per task for one run, a row per result file side by side.
final class ProbeResultTableTests: XCTestCase {
    private func result(_ task: String, _ metric: String, mean: Double) -> String {
        #"{"task": "\#(task)", "representation": "runs/a", "metric": "\#(metric)", "labels_per_class": 10, "#
            + #""train_utterances": [30, 30, 30], "test_utterances": 18, "scores": [\#(mean), \#(mean), \#(mean)], "#
            + #""mean": \#(mean), "std": 0, "layer_weights": [[1], [1], [1]]}"#
    }

    func testOneRunAndSeveralRunsSideBySide() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("probe-table-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let encoder = root.appendingPathComponent("encoder.json"), fbank = root.appendingPathComponent("fbank.json")
        try "[\(result("ks", "accuracy", mean: 0.5)), \(result("pr", "per", mean: 0.25))]".write(to: encoder, atomically: true, encoding: .utf8)
        try "[\(result("ks", "accuracy", mean: 0.75))]".write(to: fbank, atomically: true, encoding: .utf8)

        let results = try JSONDecoder().decode([ProbeResult].self, from: Data(contentsOf: encoder))
        XCTAssertEqual(ProbeResultTable.lines(of: results, seeds: 3), [
            "| representation | task | metric | labels/class | mean ± std over 3 seeds |", "|---|---|---|---|---|",
            "| runs/a | ks | accuracy | 10 | 0.5000 ± 0.0000 |", "| runs/a | pr | per | 10 | 0.2500 ± 0.0000 |",
        ])
        XCTAssertEqual(try ProbeResultTable.comparison(of: [encoder, fbank]), [
            "| representation | KS accuracy ↑ | PR PER ↓ |", "|---|---|---|",
            "| encoder | 0.500 ± 0.000 | 0.250 ± 0.000 |", "| fbank | 0.750 ± 0.000 | – |",
            "\nmean ± sample standard deviation over 3 probe seeds; labelled utterances per class: 10",
        ])
        XCTAssertThrowsError(try ProbeResultTable.comparison(of: [root.appendingPathComponent("missing.json")])) { error in
            XCTAssertTrue("\(error)".hasSuffix("missing.json: cannot read a result file of pretrain probe: no such file or directory"), "\(error)")
        }
        let notResults = root.appendingPathComponent("notes.json")
        try Data("{\"task\": \"ks\"}".utf8).write(to: notResults)
        XCTAssertThrowsError(try ProbeResultTable.comparison(of: [notResults])) { error in
            XCTAssertTrue("\(error)".contains("notes.json: not a result file of pretrain probe"), "\(error)")
        }
    }
}
