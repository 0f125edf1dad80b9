import Foundation
import Layers
import Tensors
import TestSupport
import Training
import XCTest

/// `--resume` continues exactly: a run stopped at step 20 and resumed from its checkpoint logs the same losses,
/// gradient norms, learning rates and validation losses, bit for bit, as an uninterrupted 40-step run, and ends
/// with identical weights. The recipe has dropout and gradient accumulation, so the data position, the dropout
/// stream, the optimiser moments and the step counter all have to survive the checkpoint.
final class ResumeTests: XCTestCase {
    func testStopAndResumeEqualsAnUninterruptedRun() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let recipe = tinyRecipe(steps: 40)

        let straight = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("straight"), corpus: corpus,
                                   console: ConsoleProgress(mode: .silent))
        try straight.run()

        let interruptedDirectory = root.appendingPathComponent("interrupted")
        let first = try Trainer(recipe: recipe, runDirectory: interruptedDirectory, corpus: corpus,
                                console: ConsoleProgress(mode: .silent))
        let half = try first.run(stopAfter: 20)
        XCTAssertFalse(half.finished)
        XCTAssertEqual(half.step, 20)
        let resumed = try Trainer(recipe: recipe, runDirectory: interruptedDirectory, corpus: corpus, start: .resume,
                                  console: ConsoleProgress(mode: .silent))
        XCTAssertEqual(resumed.state.step, 20)
        XCTAssertTrue(try resumed.run().finished)

        let expected = try readMetrics(root.appendingPathComponent("straight/metrics.jsonl"))
        let actual = try readMetrics(interruptedDirectory.appendingPathComponent("metrics.jsonl"))
        XCTAssertEqual(expected.map(\.step), Array(1...40))
        assertSameCurves(actual, expected)
        for ((name, a), (_, b)) in zip(resumed.model.namedParameters(), straight.model.namedParameters()) {
            XCTAssertEqual(a.scalars, b.scalars, "final \(name) differs")
        }
    }

    /// A second resume of a finished run has nothing to do and changes nothing.
    func testResumingAFinishedRunIsANoOp() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let recipe = tinyRecipe(steps: 10)
        try Trainer(recipe: recipe, runDirectory: root, corpus: corpus, console: ConsoleProgress(mode: .silent)).run()
        let before = try readMetrics(root.appendingPathComponent("metrics.jsonl"))
        let summary = try Trainer(recipe: recipe, runDirectory: root, corpus: corpus, start: .resume,
                                  console: ConsoleProgress(mode: .silent)).run()
        XCTAssertTrue(summary.finished)
        XCTAssertEqual(try readMetrics(root.appendingPathComponent("metrics.jsonl")), before)
    }
}

/// Same steps, and bit-identical loss, lr, gradient norm, tokens seen and validation numbers at each.
func assertSameCurves(_ actual: [MetricsRecord], _ expected: [MetricsRecord], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.map(\.step), expected.map(\.step), "logged steps", file: file, line: line)
    for (a, b) in zip(actual, expected) {
        XCTAssertEqual(a.loss, b.loss, "loss at step \(a.step)", file: file, line: line)
        XCTAssertEqual(a.gradNorm, b.gradNorm, "grad norm at step \(a.step)", file: file, line: line)
        XCTAssertEqual(a.lr, b.lr, "lr at step \(a.step)", file: file, line: line)
        XCTAssertEqual(a.tokensSeen, b.tokensSeen, "tokens seen at step \(a.step)", file: file, line: line)
        XCTAssertEqual(a.valLoss, b.valLoss, "val loss at step \(a.step)", file: file, line: line)
        XCTAssertEqual(a.valBitsPerByte, b.valBitsPerByte, "val bpb at step \(a.step)", file: file, line: line)
    }
}

/// A run of `recipe` stopped after `stopAfter` updates in ROOT/interrupted and resumed gives the curves of the
/// uninterrupted run already in `completed`, bit for bit.
func assertResumesExactly(_ recipe: Recipe, corpus: TrainingCorpus, root: URL, completed: URL, stopAfter: Int = 5,
                          file: StaticString = #filePath, line: UInt = #line) throws {
    let interrupted = root.appendingPathComponent("interrupted")
    try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus, console: ConsoleProgress(mode: .silent)).run(stopAfter: stopAfter)
    let resumed = try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus, start: .resume, console: ConsoleProgress(mode: .silent))
    XCTAssertTrue(try resumed.run().finished, file: file, line: line)
    assertSameCurves(try readMetrics(interrupted.appendingPathComponent("metrics.jsonl")),
                     try readMetrics(completed.appendingPathComponent("metrics.jsonl")), file: file, line: line)
}
