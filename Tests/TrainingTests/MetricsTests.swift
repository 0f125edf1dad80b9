import Foundation
import TestSupport
import Training
import XCTest

/// metrics.jsonl rows: field names, optional evaluation fields, named validation losses, and reading back a
/// file whose last line was cut by a crash.
final class MetricsTests: XCTestCase {
    func testRowsUseTheDocumentedKeys() throws {
        let row = MetricsRecord(step: 10, loss: 2.5, lr: 1e-3, gradNorm: 0.75, tokensPerSecond: 1000, tokensSeen: 5120,
                                skippedUpdates: 1, valLoss: 2.25, valPerplexity: 9.5, valBitsPerByte: 1.25,
                                namedValidationLosses: ["wiki": 3.5])
        let object = try JSONSerialization.jsonObject(with: Data(try row.jsonLine().utf8)) as! [String: Any]
        XCTAssertEqual(Set(object.keys), ["step", "loss", "lr", "grad_norm", "tokens_per_s", "tokens_seen", "skipped_updates",
                                         "val_loss", "val_ppl", "val_bpb", "val_loss/wiki"])
        XCTAssertEqual(object["val_loss/wiki"] as? Double, 3.5)
    }

    func testTrainingRowsLeaveOutEvaluationKeys() throws {
        let line = try MetricsRecord(step: 3, loss: 4, lr: 1e-4, gradNorm: 1, tokensPerSecond: 10, tokensSeen: 30,
                                     skippedUpdates: 0).jsonLine()
        XCTAssertFalse(line.contains("val_"), line)
        XCTAssertFalse(try JSONDecoder().decode(MetricsRecord.self, from: Data(line.utf8)).isEvaluation)
    }

    func testNonFiniteValuesAreWrittenAsAbsent() throws {
        let line = try MetricsRecord(step: 1, loss: .nan, gradNorm: .infinity).jsonLine()
        XCTAssertEqual(line, #"{"step":1}"#)
    }

    func testReadingSkipsATruncatedLastLine() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("metrics.jsonl")
        let rows = [MetricsRecord(step: 1, loss: 3), MetricsRecord(step: 2, loss: 2.5, valLoss: 2.75, namedValidationLosses: ["x": 1])]
        let text = try rows.map { try $0.jsonLine() + "\n" }.joined() + #"{"step":3,"lo"#
        try Data(text.utf8).write(to: url)
        XCTAssertEqual(try readMetrics(url), rows)
    }

    func testAMalformedLineInTheMiddleIsAnErrorNamingTheLine() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("metrics.jsonl")
        try Data("{\"step\":1}\nnot json\n{\"step\":3}\n".utf8).write(to: url)
        XCTAssertThrowsError(try readMetrics(url)) { XCTAssertTrue("\($0)".contains("metrics.jsonl:2"), "\($0)") }
    }

    func testAResumedLogDropsRowsAfterTheCheckpoint() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("metrics.jsonl")
        let log = try MetricsLog(url: url)
        for step in 1...5 { try log.append(MetricsRecord(step: step, loss: Double(step))) }
        let resumed = try MetricsLog(url: url, keepingThrough: 3)
        try resumed.append(MetricsRecord(step: 4, loss: 40))
        XCTAssertEqual(try readMetrics(url).map(\.step), [1, 2, 3, 4])
        XCTAssertEqual(try readMetrics(url).last?.loss, 40)
    }

    /// Found by scripts/faults.sh (a read-only run directory): the error was an NSError dump with its user-info
    /// dictionary; it is the file and one sentence.
    func testAFailedRewriteSaysWhyInOneSentence() throws {
        let directory = try makeTemporaryDirectory()
        let url = directory.appendingPathComponent("metrics.jsonl")
        try MetricsLog(url: url).append(MetricsRecord(step: 1, loss: 1))
        // A directory where the rewrite's temporary file goes makes the write fail.
        try FileManager.default.createDirectory(at: directory.appendingPathComponent(".metrics.jsonl.\(getpid()).tmp"),
                                                withIntermediateDirectories: false)
        XCTAssertThrowsError(try MetricsLog(url: url, keepingThrough: 0)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(url.path): cannot write: "), "\(error)")
            XCTAssertFalse("\(error)".contains("Error Domain"), "\(error)")
        }
    }
}
