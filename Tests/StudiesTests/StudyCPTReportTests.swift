import Foundation
import Studies
import Training
import TestSupport
import XCTest

/// The results section from given numbers: arms measured from hand-written metrics rows, so that every cell of the
/// table can be stated.
final class StudyCPTReportTests: XCTestCase {
    private let plan = StudyCPTPlan(size: .quick, upstreamCorpus: "up", downstreamCorpus: "down")

    /// The upstream checkpoint: upstream val loss 4.0, downstream 5.0.
    private func reference(backtest: StudyBacktest? = StudyBacktest(model: "annealing", predicted: 4.04, actual: 4.0)) throws -> StudyCPTReference {
        try StudyCPTMeasure.reference(records: [
            MetricsRecord(step: 200, valLoss: 4.5, namedValidationLosses: ["downstream": 5.5]),
            MetricsRecord(step: 400, valLoss: 4.0, namedValidationLosses: ["downstream": 5.0]),
        ], seconds: 60, backtest: backtest)
    }

    /// The plan's arm `name` measured from evaluations at steps 0, 6, 12 and the final one at 150.
    private func arm(_ name: String, down: [Double], up: [Double], backtest: StudyBacktest? = nil,
                     reference: StudyCPTReference) throws -> StudyCPTArmResult {
        let arm = try XCTUnwrap(plan.arms.first { $0.name == name })
        let records = zip([0, 6, 12, 150], zip(down, up)).map { step, losses in
            MetricsRecord(step: step, tokensSeen: step * 1024, valLoss: losses.0, namedValidationLosses: ["upstream": losses.1])
        }
        return try StudyCPTMeasure.arm(arm, records: records, reference: reference, seconds: 30, backtest: backtest)
    }

    private func results(arms: [StudyCPTArmResult], reference: StudyCPTReference) -> StudyCPTResults {
        StudyCPTResults(size: "quick", command: "pretrain study cpt --quick", machine: "a test machine", date: "2026-01-01 00:00 UTC",
                        runSeconds: 125, reusedRuns: 0, design: "a design", reference: reference, arms: arms)
    }

    /// rewarm_1x with a downstream gap (peak at step 6, back at 12) and an upstream transient; replay_25 and
    /// no_rewarm without either.
    private func threeArms() throws -> StudyCPTResults {
        let reference = try reference()
        return results(arms: [
            try arm("rewarm_1x", down: [5.0, 5.1, 4.8, 4.5], up: [4.0, 4.2, 4.1, 4.15],
                    backtest: StudyBacktest(model: "area_power_law", predicted: 4.41, actual: 4.5), reference: reference),
            try arm("replay_25", down: [5.0, 4.9, 4.7, 4.6], up: [4.0, 4.05, 4.06, 4.05], reference: reference),
            try arm("no_rewarm", down: [5.0, 4.95, 4.9, 4.8], up: [4.0, 4.01, 4.02, 4.02], reference: reference),
        ], reference: reference)
    }

    func testTheTableHasARowForTheCheckpointAndOnePerArm() throws {
        let section = StudyCPTReport.section(try threeArms(), plots: [])
        let rows = section.components(separatedBy: "\n").filter { $0.hasPrefix("| ") }
        XCTAssertEqual(rows, [
            "| arm | downstream val | Δ downstream | upstream val | forgetting | gap depth (peak, recovered) | upstream rise | backtest: predicted / actual (error) |",
            "| upstream pre-training | 5.0000 | — | 4.0000 | — | — | — | 4.0400 / 4.0000 (+1.00 %, annealing) |",
            "| rewarm to 3e-3, cosine, replay 0 %, one pass | 4.5000 | -0.5000 | 4.1500 | +0.1500 | 0.1000 (step 6, step 12) | 0.2000 | 4.4100 / 4.5000 (-2.00 %, area_power_law) |",
            "| replay 25 % | 4.6000 | -0.4000 | 4.0500 | +0.0500 | 0 (no rise) | 0.0600 | — |",
            "| no rewarm (constant 3e-4) | 4.8000 | -0.2000 | 4.0200 | +0.0200 | 0 (no rise) | 0.0200 | — |",
        ])
        XCTAssertFalse(section.contains("No arm's downstream val loss rose"))
    }

    func testTheSectionSaysHowItWasMade() throws {
        let section = StudyCPTReport.section(try threeArms(), plots: [])
        XCTAssertTrue(section.hasPrefix("## Continual pre-training\n\n**Quick run**"), section)
        XCTAssertTrue(section.contains("- Command: `pretrain study cpt --quick`\n- Machine: a test machine\n"
            + "- Date: 2026-01-01 00:00 UTC; the runs took 2m05s of wall time in all.\n- Design: a design\n"), section)
        XCTAssertTrue(section.contains("upstream val loss 4.0000, downstream (First Folio) val loss 5.0000."), section)
    }

    func testAnUpstreamRiseAboveWhereItEndedIsNamed() throws {
        let section = StudyCPTReport.section(try threeArms(), plots: [])
        XCTAssertTrue(section.contains("in: rewarm to 3e-3, cosine, replay 0 %, one pass (rise 0.2000, at the end +0.1000).\n"),
                      section)
    }

    func testClaimsAreJudgedOnTheArmsPresent() throws {
        let results = try threeArms()
        XCTAssertEqual(results.claims.map(\.holds), [true, true])
        let section = StudyCPTReport.section(results, plots: [])
        XCTAssertTrue(section.contains("- **holds**: replay 25 % forgets less than replay 0 % — forgetting +0.0500 vs +0.1500.\n"),
                      section)
        XCTAssertTrue(section.contains("- **holds**: rewarming helps downstream loss (every rewarm peak ends below no rewarm) — "
            + "downstream rewarm_1x 4.5000 vs no rewarm 4.8000.\n"), section)
    }

    func testTheBacktestMedianIsOverEveryCurveWithABacktest() throws {
        let results = try threeArms()
        XCTAssertEqual(results.backtestCount, 2)
        XCTAssertEqual(try XCTUnwrap(results.backtestMedianError), 0.015, accuracy: 1e-12)
        XCTAssertTrue(StudyCPTReport.section(results, plots: []).contains(
            "median absolute relative error 1.50 % over 2 curves (target ≤ 2 %: met)"))
    }

    func testWithoutAnyBacktestTheSectionSaysItIsNotMeasured() throws {
        let reference = try reference(backtest: nil)
        let results = results(arms: [try arm("no_rewarm", down: [5.0, 4.95, 4.9, 4.8], up: [4.0, 4.01, 4.02, 4.02],
                                             reference: reference)], reference: reference)
        XCTAssertNil(results.backtestMedianError)
        XCTAssertEqual(results.backtestCount, 0)
        XCTAssertTrue(StudyCPTReport.section(results, plots: []).contains("Not measured: no curve could be fitted"))
    }

    func testWithoutAGapAnywhereTheSectionSaysSo() throws {
        let reference = try reference()
        let results = results(arms: [try arm("replay_25", down: [5.0, 4.9, 4.7, 4.6], up: [4.0, 4.05, 4.06, 4.05],
                                             reference: reference)], reference: reference)
        XCTAssertTrue(StudyCPTReport.section(results, plots: []).contains(
            "\nNo arm's downstream val loss rose above its value at the switch at this evaluation spacing"))
    }

    func testALabelWithAPipeIsEscapedInTheTable() throws {
        let reference = try reference()
        let arm = StudyCPTArm(name: "odd", label: "a | b", groups: [], recipe: Recipe())
        let records = [0, 6, 150].map { MetricsRecord(step: $0, valLoss: 4.9, namedValidationLosses: ["upstream": 4.1]) }
        let result = try StudyCPTMeasure.arm(arm, records: records, reference: reference, seconds: 1, backtest: nil)
        XCTAssertTrue(StudyCPTReport.section(results(arms: [result], reference: reference), plots: []).contains("| a \\| b | 4.9000 |"))
    }

    func testFiguresAreLinkedUnderTheirGroupsTitle() throws {
        let section = StudyCPTReport.section(try threeArms(), plots: [(.replay, ["results/a.svg", "results/b.svg"])])
        XCTAssertTrue(section.hasSuffix("### Curves\n\nReplay of the upstream corpus: ![results/a.svg](results/a.svg) "
            + "![results/b.svg](results/b.svg)\n\n"), section)
    }

    func testTheSectionReplacesItsOldSelfAndKeepsTheOthersByteForByte() {
        let document = "# Results\n\n## Another study\n\nkeep me\n\n## Continual pre-training (issue 5)\n\nstale\n\n## Later\n\nkeep too\n"
        let replaced = StudyCPTReport.replacingSection(in: document, with: "## Continual pre-training\n\nnew\n")
        XCTAssertEqual(replaced, "# Results\n\n## Another study\n\nkeep me\n\n## Continual pre-training\n\nnew\n\n## Later\n\nkeep too\n",
                       "the section under the earlier heading is replaced too")
        XCTAssertEqual(StudyCPTReport.replacingSection(in: replaced, with: "## Continual pre-training\n\nnewer\n"),
                       "# Results\n\n## Another study\n\nkeep me\n\n## Continual pre-training\n\nnewer\n\n## Later\n\nkeep too\n")
    }

    func testTheSectionIsAppendedWhenAbsentAndStartsAnEmptyDocument() {
        XCTAssertEqual(StudyCPTReport.replacingSection(in: "# Results\n\n## Other\n\nx", with: "## Continual pre-training\n\nnew\n"),
                       "# Results\n\n## Other\n\nx\n\n## Continual pre-training\n\nnew\n")
        XCTAssertTrue(StudyCPTReport.replacingSection(in: "", with: "## Continual pre-training (issue 5)\n").hasPrefix("# Results\n\n"))
    }

    func testWritingPutsResultsJSONTheSectionAndTheFiguresOfEveryGroupWithArms() throws {
        let root = try makeTemporaryDirectory()
        let resultsFile = root.appendingPathComponent("docs/RESULTS.md")
        try StudyCPTReport.write(try threeArms(), out: root, resultsFile: resultsFile)
        let decoded = try JSONDecoder().decode(StudyCPTResults.self, from: Data(contentsOf: root.appendingPathComponent("results.json")))
        XCTAssertEqual(decoded.arms.map(\.name), ["rewarm_1x", "replay_25", "no_rewarm"])
        let document = try String(contentsOf: resultsFile, encoding: .utf8)
        // rewarm_1x is in the rewarm, replay and subset groups; no arm is in the schedule group.
        for group in ["rewarm", "replay", "subset"] {
            for set in ["downstream", "upstream"] {
                let name = "results/cpt-\(group)-\(set).svg"
                XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("docs/" + name).path), name)
                XCTAssertTrue(document.contains("](\(name))"), name)
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("docs/results/cpt-schedule-upstream.svg").path))
    }
}
