import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import Training
import XCTest

/// `pretrain report`: reading metrics.jsonl, the HTML page, and the SVG plots it is made of.
final class ReportTests: XCTestCase {
    /// A run directory like the trainer's: 300 steps logged every step, evaluation every 50 steps on the main
    /// validation set and two named sources, a recipe and a latest-checkpoint pointer.
    static func writeSyntheticRun(to directory: URL) throws {
        var lines: [String] = []
        var generator = SplitMix64(seed: 7)
        for step in 1...300 {
            let progress = Double(step) / 300
            let lr = step <= 30 ? 6e-4 * Double(step) / 30 : 6e-5 + 0.5 * (6e-4 - 6e-5) * (1 + cos(Double.pi * (Double(step) - 30) / 270))
            let loss = 3.4 + 4.9 * exp(-Double(step) / 35) + 0.12 * generator.nextSigned()
            var row = "\"step\":\(step),\"loss\":\(loss),\"lr\":\(lr),\"grad_norm\":\(0.4 + 3 * exp(-Double(step) / 20) + 0.05 * generator.nextSigned())"
            row += ",\"tokens_per_s\":\(11_500 + 600 * generator.nextSigned()),\"tokens_seen\":\(step * 8192),\"skipped_updates\":\(step >= 120 ? 1 : 0)"
            if step % 50 == 0 {
                let val = 3.55 + 4.6 * exp(-Double(step) / 38) + 0.05 * progress
                row += ",\"val_loss\":\(val),\"val_ppl\":\(exp(val)),\"val_bpb\":\(val * 0.3 / log(2.0))"
                row += ",\"val_loss/shakespeare\":\(val - 0.1),\"val_loss/wiki\":\(val + 0.35)"
            }
            lines.append("{\(row)}")
        }
        try (lines.joined(separator: "\n") + "\n").write(to: directory.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        try """
        # resolved recipe
        name: "tiny <gpt> & friends"
        model: {family: gpt, layers: 4, d_model: 192, heads: 6, seq_len: 256}
        optim: {lr: 6.0e-4, min_lr: 6.0e-5, warmup: 30, weight_decay: 0.1}
        steps: 300

        """.write(to: directory.appendingPathComponent("recipe.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        try "step_000300\n".write(to: directory.appendingPathComponent("checkpoints/latest"), atomically: true, encoding: .utf8)
    }

    /// Deterministic noise for the synthetic curves (SplitMix64).
    struct SplitMix64 {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func nextSigned() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(z >> 11) / Double(1 << 53) * 2 - 1
        }
    }

    func writeMetrics(_ text: String) throws -> URL {
        let directory = try makeTemporaryDirectory()
        try text.write(to: directory.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        return directory
    }

    func assertThrowsMessage(_ expression: @autoclosure () throws -> Any, contains fragments: [String],
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            let message = "\(error)"
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "\"\(message)\" lacks \"\(fragment)\"", file: file, line: line)
            }
        }
    }

    // MARK: - The page

    func testReportIsOneSelfContainedPage() throws {
        let run = try makeTemporaryDirectory()
        try Self.writeSyntheticRun(to: run)
        let url = try RunReport(runDirectory: run).write()
        XCTAssertEqual(url, run.appendingPathComponent("report.html"))
        let html = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        for external in ["<script", "<link", "src=", "http:", "https:", "@import"] {
            XCTAssertFalse(html.contains(external), "page refers to something outside itself: \(external)")
        }
    }

    func testReportPlotsEveryLoggedCurve() throws {
        let run = try makeTemporaryDirectory()
        try Self.writeSyntheticRun(to: run)
        let report = try RunReport(runDirectory: run)
        XCTAssertEqual(report.plots.map(\.title), [
            "Loss", "Validation bits per byte", "Validation loss by source", "Learning rate", "Throughput",
            "Gradient norm (before clipping)", "Skipped updates (non-finite loss or gradient)",
        ])
        XCTAssertEqual(report.plots[0].series.map(\.name), ["train (raw)", "train (smoothed)", "val"])
        XCTAssertEqual(report.plots[2].series.map(\.name), ["val (main)", "shakespeare", "wiki"])
        let html = report.html()
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 7)
        XCTAssertEqual(Set(report.plots.map(\.id)).count, 7, "clip-path ids must be unique in the page")
    }

    func testRunWithoutEvaluationsPlotsTrainingCurvesOnly() throws {
        let run = try writeMetrics("""
        {"step":1,"loss":8.1,"lr":0.0001,"grad_norm":2.0,"tokens_per_s":900,"tokens_seen":512,"skipped_updates":0}
        {"step":2,"loss":7.6,"lr":0.0002,"grad_norm":1.5,"tokens_per_s":950,"tokens_seen":1024,"skipped_updates":0}

        """)
        let report = try RunReport(runDirectory: run)
        XCTAssertEqual(report.plots.map(\.title), ["Loss", "Learning rate", "Throughput", "Gradient norm (before clipping)"])
        XCTAssertTrue(report.html().contains("No recipe.yaml in the run directory."))
    }

    func testSmoothedTrainLossDoesNotLagAFallingCurve() {
        // A straight fall with ±0.5 alternating noise: the smoothed curve follows the line, not its past.
        let rows = (1...300).map { step -> [String: Double] in
            let noise = step % 2 == 0 ? 0.5 : -0.5
            return ["step": Double(step), "loss": 10 - 0.02 * Double(step) + noise]
        }
        let report = RunReport(runDirectory: URL(fileURLWithPath: "/tmp/run"), metrics: MetricsTable(rows: rows), recipe: nil)
        let smoothed = report.plots[0].series[1]
        XCTAssertEqual(smoothed.name, "train (smoothed)")
        for (step, loss) in smoothed.points where step >= 30 && step <= 270 {
            XCTAssertEqual(loss, 10 - 0.02 * step, accuracy: 0.05, "step \(step)")
        }
    }

    func testSummaryGivesFinalAndBestValidationAndTotals() throws {
        let run = try makeTemporaryDirectory()
        try Self.writeSyntheticRun(to: run)
        let summary = Dictionary(uniqueKeysWithValues: try RunReport(runDirectory: run).summary)
        XCTAssertEqual(summary["steps logged"], "300 (300 rows)")
        XCTAssertEqual(summary["tokens seen"], "2.46M")
        XCTAssertEqual(summary["latest checkpoint"], "step_000300")
        XCTAssertEqual(summary["skipped updates"], "1")
        // The synthetic val loss bottoms out before the last evaluation (a slight upward drift).
        XCTAssertTrue(summary["final val loss"]!.hasSuffix("at step 300"))
        XCTAssertTrue(summary["best val loss"]!.hasSuffix("at step 250"), summary["best val loss"]!)
        XCTAssertNotNil(summary["final val loss, wiki"])
        XCTAssertTrue(summary["wall time"]!.hasPrefix("≈ 3 min"), summary["wall time"]!)  // 2.46M tokens at ~11.5k/s
    }

    func testRecipeIsShownEscaped() throws {
        let run = try makeTemporaryDirectory()
        try Self.writeSyntheticRun(to: run)
        let html = try RunReport(runDirectory: run).html()
        XCTAssertTrue(html.contains("name: &quot;tiny &lt;gpt&gt; &amp; friends&quot;"))
        XCTAssertFalse(html.contains("<gpt>"))
    }

    // MARK: - Errors a user can cause

    func testMissingRunDirectoryIsNamed() {
        assertThrowsMessage(try RunReport(runDirectory: URL(fileURLWithPath: "/nonexistent/run")),
                            contains: ["/nonexistent/run", "no such run directory"])
    }

    func testMissingMetricsFileIsNamed() throws {
        let run = try makeTemporaryDirectory()
        assertThrowsMessage(try RunReport(runDirectory: run), contains: [run.appendingPathComponent("metrics.jsonl").path, "no such file"])
    }

    func testEmptyMetricsFileIsAnError() throws {
        let run = try writeMetrics("\n\n")
        assertThrowsMessage(try RunReport(runDirectory: run), contains: ["metrics.jsonl", "no metrics rows"])
    }

    func testCorruptLineIsNamedByFileAndLine() throws {
        let run = try writeMetrics("{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":3}\n{\"step\":3,\"loss\":\n{\"step\":4}\n")
        assertThrowsMessage(try RunReport(runDirectory: run), contains: ["metrics.jsonl:3:", "not valid JSON"])
    }

    func testRowWithoutStepIsCorrupt() throws {
        let run = try writeMetrics("{\"step\":1,\"loss\":3}\n{\"loss\":2.5}\n")
        assertThrowsMessage(try MetricsTable(contentsOf: run.appendingPathComponent("metrics.jsonl")),
                            contains: ["metrics.jsonl:2:", "step"])
    }

    // MARK: - Reading metrics.jsonl

    func testIncompleteLastLineOfARunningTrainerIsLeftOut() throws {
        let run = try writeMetrics("{\"step\":1,\"loss\":3}\n{\"step\":2,\"lo")
        let table = try MetricsTable(contentsOf: run.appendingPathComponent("metrics.jsonl"))
        XCTAssertEqual(table.rows.count, 1)
        XCTAssertTrue(table.ignoredIncompleteLastLine)
        XCTAssertTrue(try RunReport(runDirectory: run).html().contains("incomplete"))
    }

    func testRowsOfARestartedStepSupersedeTheOldOnes() {
        let table = MetricsTable(rows: [["step": 1, "loss": 5], ["step": 2, "loss": 4], ["step": 3, "loss": 3.5],
                                        ["step": 2, "loss": 4.1], ["step": 3, "loss": 3.6]])
        XCTAssertEqual(table.series("loss").map(\.step), [1, 2, 3])
        XCTAssertEqual(table.series("loss").map(\.value), [5, 4.1, 3.6])
    }

    func testNullAndNonNumericValuesAreSkipped() throws {
        let run = try writeMetrics("{\"step\":1,\"loss\":null,\"lr\":0.001,\"note\":\"warmup\",\"flag\":true}\n")
        let table = try MetricsTable(contentsOf: run.appendingPathComponent("metrics.jsonl"))
        XCTAssertEqual(table.rows, [["step": 1, "lr": 0.001]])
    }

    func testReadsWhatTheTrainersMetricsLogWrites() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("metrics.jsonl")
        let records = [
            MetricsRecord(step: 1, loss: 8, lr: 1e-4, gradNorm: 2, tokensPerSecond: 900, tokensSeen: 512, skippedUpdates: 0),
            MetricsRecord(step: 2, loss: .nan, lr: 2e-4, gradNorm: .infinity, tokensPerSecond: 950, tokensSeen: 1024,
                          skippedUpdates: 1, valLoss: 7, valPerplexity: 1096.6, valBitsPerByte: 3.1,
                          namedValidationLosses: ["wiki": 7.5]),
        ]
        let log = try MetricsLog(url: url)
        for record in records { try log.append(record) }
        XCTAssertEqual(try MetricsTable(contentsOf: url).rows, MetricsTable(records: records).rows)
    }

    func testMetricsRecordsBecomeRowsUnderTheirJSONKeys() {
        let record = MetricsRecord(step: 4, loss: 2, lr: .infinity, tokensSeen: 100, valLoss: 3,
                                   namedValidationLosses: ["wiki": 3.5])
        XCTAssertEqual(MetricsTable.row(record), ["step": 4, "loss": 2, "tokens_seen": 100, "val_loss": 3, "val_loss/wiki": 3.5])
    }

    // MARK: - SVGPlot

    func render(_ plot: SVGPlot) -> String { plot.render(standalone: true) }

    func testPlotIsWellFormedXMLWithEscapedText() throws {
        var plot = SVGPlot(title: "a < b & c", xLabel: "step", yLabel: "\"loss\"",
                           series: [SVGPlot.Series("x<y", points: [(0, 1), (1, 2)], markers: true)])
        plot.id = "p"
        let svg = render(plot)
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        XCTAssertTrue(svg.contains("a &lt; b &amp; c"))
        XCTAssertTrue(svg.contains(">x&lt;y</text>"), "legend entry")
    }

    func testLinearAxesGetRoundTicks() {
        let svg = render(SVGPlot(title: "t", xLabel: "step", yLabel: "loss",
                                 series: [SVGPlot.Series("s", points: [(0, 3.1), (1000, 7.9)])]))
        for label in ["0", "200", "400", "600", "800", "1000"] { XCTAssertTrue(svg.contains(">\(label)</text>"), "x tick \(label)") }
        for label in ["3", "4", "5", "6", "7", "8"] { XCTAssertTrue(svg.contains(">\(label)</text>"), "y tick \(label)") }
    }

    func testLargeAndSmallTickValuesAreAbbreviated() {
        let svg = render(SVGPlot(title: "t", xLabel: "step", yLabel: "lr",
                                 series: [SVGPlot.Series("s", points: [(0, 0), (20_000, 6e-4)])]))
        XCTAssertTrue(svg.contains(">10k</text>") && svg.contains(">20k</text>"))
        XCTAssertTrue(svg.contains(">2e-4</text>") && svg.contains(">6e-4</text>"))
    }

    func testLogarithmicAxisTicksAtPowersOfTen() {
        var plot = SVGPlot(title: "t", xLabel: "step", yLabel: "norm",
                           series: [SVGPlot.Series("s", points: [(0, 0.05), (1, 0.3), (2, 40)])])
        plot.yScale = .logarithmic
        let svg = render(plot)
        for label in ["0.1", "1", "10"] { XCTAssertTrue(svg.contains(">\(label)</text>"), "log tick \(label)") }
    }

    func testNonFinitePointsBreakTheLine() {
        let svg = render(SVGPlot(title: "t", xLabel: "x", yLabel: "y",
                                 series: [SVGPlot.Series("s", points: [(0, 1), (1, 2), (2, .nan), (3, 2), (4, 1)])]))
        let path = svg.components(separatedBy: "<path d=\"")[1].prefix { $0 != "\"" }
        XCTAssertEqual(path.filter { $0 == "M" }.count, 2, String(path))
    }

    func testEmptyPlotSaysSo() {
        XCTAssertTrue(render(SVGPlot(title: "t", xLabel: "x", yLabel: "y")).contains(">no data</text>"))
    }

    func testLongSeriesAreThinnedToThePixelColumns() {
        let points = (0..<100_000).map { (Double($0), sin(Double($0) / 50)) }
        let svg = render(SVGPlot(title: "t", xLabel: "x", yLabel: "y", series: [SVGPlot.Series("s", points: points)]))
        XCTAssertLessThan(svg.utf8.count, 60_000)
        XCTAssertTrue(svg.contains(">1.0</text>") && svg.contains(">-1.0</text>"), "the envelope still reaches ±1")
    }
}
