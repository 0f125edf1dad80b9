import Foundation
import Fuzzing
import TestSupport
import XCTest

/// The fuzzers themselves: seeds the parsers accept, inputs that depend only on (seed, index).
final class FuzzHarnessTests: XCTestCase {
    func testEverySeedIsAccepted() throws {
        for target in FuzzTargets.all {
            for (index, outcome) in FuzzRunner(target: target, options: FuzzOptions()).parseSeeds().enumerated() {
                guard case .accepted = outcome else { return XCTFail("\(target.name) seed \(index): \(outcome)") }
            }
        }
    }

    /// `--seed S --input K` makes the same input as input K of a session, without the inputs before it.
    func testAnInputIsAFunctionOfSeedAndIndex() {
        for target in FuzzTargets.all {
            let inputs = (0..<20).map { target.input(seed: 18, index: $0, skipKnown: false) }
            for index in [0, 7, 19] {
                let again = target.input(seed: 18, index: index, skipKnown: false)
                XCTAssertEqual(again.family, inputs[index].family, target.name)
                XCTAssertEqual(again.input.files.map(\.bytes), inputs[index].input.files.map(\.bytes), target.name)
                XCTAssertEqual(again.input.arguments, inputs[index].input.arguments, target.name)
            }
            XCTAssertGreaterThan(Set(inputs.map { $0.input.files.map(\.bytes) }).count, 10, "\(target.name): inputs barely vary")
        }
    }

    func testSkipKnownLeavesOutTheFamiliesOfOpenIssues() {
        for target in FuzzTargets.all {
            for index in 0..<50 {
                let family = target.families[target.input(seed: 3, index: index, skipKnown: true).family]
                XCTAssertNil(family.knownIssue, "\(target.name) input \(index): \(family.name)")
            }
        }
    }
}

/// CI's short fuzz run: every parser 3 s (about 30 s in all) through the built `pretrain fuzz`, as `make fuzz` runs
/// it for longer, with every mutation family (the issue 18 items they once hit are fixed).
final class FuzzSmokeTests: XCTestCase {
    func testEveryParserEndsEachInputInSuccessOrAnError() throws {
        for name in FuzzTargets.names {
            let (status, output) = try runPretrain(["fuzz", name, "--seconds", "3", "--seed", "18",
                                                    "--max-rss-mb", "2048", "--max-input-seconds", "20"])
            XCTAssertEqual(status, 0, "pretrain fuzz \(name) died or failed:\n\(output.suffix(2000))")
            let summary = output.split(separator: "\n").last.map(String.init) ?? ""
            let pattern = #"^fuzz \#(name): [1-9][0-9]* inputs in [0-9.]+ s, 0 crashes, [0-9]+ errors.*, "#
                + #"[0-9]+ accepted.*, peak RSS [0-9]+ MB$"#
            XCTAssertNotNil(summary.range(of: pattern, options: .regularExpression), "\(name): \(summary)")
        }
    }

    /// `--inputs N` (what `make fuzz FUZZ_INPUTS=N` passes) parses exactly N inputs, with no time limit of its own.
    func testInputsBoundsTheCount() throws {
        let (status, output) = try runPretrain(["fuzz", "shard", "--inputs", "250", "--seed", "3"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("fuzz shard: 250 inputs in "), output)
    }
}
