import Foundation
import Training
import XCTest

/// The stability gap measured on synthetic curves, and marked in the report at init-from starts and phase boundaries.
final class StabilityGapTests: XCTestCase {
    /// New domain: up from 3.0 to a peak of 3.6, back below 3.0 at step 40, ending at 2.7.
    func testADownstreamDipHasDepthPeakAndRecovery() throws {
        let gap = try XCTUnwrap(StabilityGap.measure(steps: [0, 10, 20, 30, 40, 50], losses: [3.0, 3.4, 3.6, 3.2, 2.9, 2.7],
                                                     switchStep: 0))
        XCTAssertEqual(gap.reference, 3.0)
        XCTAssertEqual(gap.referenceStep, 0)
        XCTAssertEqual(gap.peak, 3.6)
        XCTAssertEqual(gap.peakStep, 20)
        XCTAssertEqual(gap.depth, 0.6, accuracy: 1e-12)
        XCTAssertEqual(gap.recoveryStep, 40)
        XCTAssertEqual(gap.finalChange, -0.3, accuracy: 1e-12)
    }

    /// Old domain: a rise that never comes back is forgetting; points before the switch set the reference.
    func testAnUpstreamRiseIsForgettingWithoutRecovery() throws {
        let gap = try XCTUnwrap(StabilityGap.measure(steps: [80, 100, 110, 120, 130], losses: [2.2, 2.0, 2.3, 2.5, 2.4],
                                                     switchStep: 100))
        XCTAssertEqual(gap.reference, 2.0)
        XCTAssertEqual(gap.peakStep, 120)
        XCTAssertEqual(gap.depth, 0.5, accuracy: 1e-12)
        XCTAssertNil(gap.recoveryStep)
        XCTAssertEqual(gap.finalChange, 0.4, accuracy: 1e-12)
    }

    /// Without a value at the switch, the first one after it is the reference; a falling curve has no gap.
    func testWithoutAPointBeforeTheSwitchTheFirstValueIsTheReference() throws {
        let falling = try XCTUnwrap(StabilityGap.measure(steps: [10, 20, 30], losses: [3.0, 2.5, 2.0], switchStep: 0))
        XCTAssertEqual(falling.referenceStep, 10)
        XCTAssertEqual(falling.depth, 0)
        XCTAssertEqual(falling.recoveryStep, 10)
        let rising = try XCTUnwrap(StabilityGap.measure(steps: [10, 20, 30], losses: [3.0, .nan, 3.5], switchStep: 0))
        XCTAssertEqual(rising.depth, 0.5, accuracy: 1e-12, "non-finite values are skipped")
        XCTAssertNil(StabilityGap.measure(steps: [0, 10], losses: [1, 2], switchStep: 10), "nothing after the switch")
    }

    /// The report measures every val set after each switch, up to the next one, and lists them in a table.
    func testTheReportMarksInitFromAndPhaseSwitches() throws {
        let rows: [[String: Double]] = [
            ["step": 0, "val_loss": 3.0, "val_loss/upstream": 2.0],
            ["step": 5, "val_loss": 3.3, "val_loss/upstream": 2.4],
            ["step": 10, "val_loss": 2.8, "val_loss/upstream": 2.6],
            ["step": 15, "val_loss": 3.1, "val_loss/upstream": 2.5],
            ["step": 20, "val_loss": 2.6, "val_loss/upstream": 2.7],
        ]
        let recipe = """
            data:
              mixture: {new: {corpus: N}, upstream: {corpus: U}}
              phases: [{until: 10, weights: {new: 1}}, {weights: {new: 1, upstream: 1}}]
            """
        let report = RunReport(runDirectory: URL(fileURLWithPath: "/tmp/run"), metrics: MetricsTable(rows: rows), recipe: recipe,
                               initializedFrom: "/runs/upstream/checkpoints/step_000100")
        XCTAssertEqual(report.switches, [RunReport.Switch(step: 0, reason: "init from step_000100"),
                                         RunReport.Switch(step: 10, reason: "phase 2")])
        let gaps = report.stabilityGaps
        XCTAssertEqual(gaps.map(\.validationSet), ["val", "upstream", "val", "upstream"])
        XCTAssertEqual(gaps[0].gap.peakStep, 5, "measured up to the next switch")
        XCTAssertEqual(gaps[0].gap.depth, 0.3, accuracy: 1e-12)
        XCTAssertEqual(gaps[0].gap.recoveryStep, 10)
        XCTAssertEqual(gaps[1].gap.finalChange, 0.6, accuracy: 1e-12)
        XCTAssertEqual(gaps[2].gap.reference, 2.8)
        XCTAssertEqual(gaps[2].gap.recoveryStep, 20)
        let html = report.html()
        XCTAssertTrue(html.contains("<h2>Stability gap</h2>"))
        XCTAssertTrue(html.contains("step 10 (phase 2)"))
        XCTAssertTrue(html.contains("stroke-dasharray=\"4 3\"><title>phase 2</title>"), "the switch is drawn on the plots")
    }
}
