import Foundation
import Studies
import Training
import TestSupport
import XCTest

/// The whole study in process at a size that trains in seconds (`microSize`), on two Markov-chain corpora that
/// share a tokenizer. It runs once for the class, then again with `reuse`; each test checks one output.
final class StudyCPTRunTests: XCTestCase {
    private struct Outcome {
        var root: URL
        var results: StudyCPTResults
        var rerun: StudyCPTResults
    }
    private static var outcome: Result<Outcome, Error>?

    private static func study(_ root: URL, reuse: Bool = false) -> StudyCPT {
        StudyCPT(size: microSize, upstream: root.appendingPathComponent("up").path,
                 downstream: root.appendingPathComponent("down").path, out: root.appendingPathComponent("study"),
                 resultsFile: root.appendingPathComponent("docs/RESULTS.md"), reuse: reuse, command: "a test",
                 cpu: "a test CPU")
    }

    override class func setUp() {
        super.setUp()
        outcome = Result {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("studies-tests-cpt-\(UUID().uuidString)")
            try TestCorpus.writePrepared(to: root.appendingPathComponent("up"), seed: 1)
            try TestCorpus.writePrepared(to: root.appendingPathComponent("down"), seed: 11)
            let silent = ConsoleProgress(mode: .silent)
            let results = try study(root).run(console: silent)
            let rerun = try study(root, reuse: true).run(console: silent)
            return Outcome(root: root, results: results, rerun: rerun)
        }
    }

    override class func tearDown() {
        if case .success(let outcome)? = outcome { try? FileManager.default.removeItem(at: outcome.root) }
        super.tearDown()
    }

    private func outcome() throws -> Outcome { try XCTUnwrap(Self.outcome).get() }

    func testEveryArmIsMeasuredAndTheInfiniteArmsAnnealFollowsIt() throws {
        XCTAssertEqual(try outcome().results.arms.map(\.name), ["no_rewarm", "rewarm_0p5x", "rewarm_1x", "rewarm_2x", "replay_5",
                                                                "replay_25", "repeated_cosine", "infinite", "infinite_anneal", "subset"])
    }

    func testEveryArmReadsTheSameNumberOfTokens() throws {
        let arms = try outcome().results.arms
        XCTAssertEqual(Set(arms.map(\.tokens)), [microSize.armSteps * microSize.tokensPerStep])
        XCTAssertEqual(Set(arms.map(\.steps)), [microSize.armSteps])
    }

    func testForgettingIsMeasuredAgainstTheUpstreamCheckpoint() throws {
        let results = try outcome().results
        for arm in results.arms {
            XCTAssertEqual(arm.forgetting, arm.upstreamFinal - results.reference.upstreamLoss, accuracy: 1e-12, arm.name)
            XCTAssertEqual(arm.downstream.steps.first, 0, arm.name)
        }
    }

    func testEachRunIsARunDirectoryOfItsOwnAndTheAnnealABranchOfTheInfiniteRun() throws {
        let study = try outcome().root.appendingPathComponent("study")
        for name in StudyCPTPlan(size: microSize, upstreamCorpus: "", downstreamCorpus: "").arms.map(\.name) {
            for file in ["recipe.yaml", "metrics.jsonl", "study_run.json"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: study.appendingPathComponent("\(name)/\(file)").path), "\(name)/\(file)")
            }
        }
        let anneal = "infinite/anneals/from_\(microSize.annealFrom)_steps_\(microSize.annealSteps)/metrics.jsonl"
        XCTAssertTrue(FileManager.default.fileExists(atPath: study.appendingPathComponent(anneal).path))
    }

    func testTheBacktestsRunInProcess() throws {
        let results = try outcome().results
        XCTAssertNotNil(results.reference.backtest)
        XCTAssertGreaterThan(results.backtestCount, 1)
        XCTAssertNil(try XCTUnwrap(results.arms.first { $0.name == "infinite_anneal" }).backtest)
    }

    func testResultsJSONAndTheSectionHoldWhatTheStudyReturned() throws {
        let outcome = try outcome()
        let stored = try JSONDecoder().decode(StudyCPTResults.self,
                                              from: Data(contentsOf: outcome.root.appendingPathComponent("study/results.json")))
        XCTAssertEqual(stored.arms.map(\.downstreamFinal), outcome.rerun.arms.map(\.downstreamFinal))
        XCTAssertEqual(stored.claims.count, 3)
        XCTAssertEqual(stored.machine.prefix(12), "a test CPU, ")
        let document = try String(contentsOf: outcome.root.appendingPathComponent("docs/RESULTS.md"), encoding: .utf8)
        XCTAssertTrue(document.contains("## Continual pre-training\n\n- Command: `a test`\n"), document)
        XCTAssertTrue(document.contains("| infinite + anneal from step 40 (20 steps) |"), document)
        // The rerun wrote them last.
        XCTAssertTrue(document.contains("(11 of them finished by an earlier invocation and reused)"), document)
    }

    func testARerunWithReuseKeepsEveryFinishedRunAndItsNumbers() throws {
        let outcome = try outcome()
        XCTAssertEqual(outcome.results.reusedRuns, 0)
        XCTAssertEqual(outcome.rerun.reusedRuns, 11)   // ten arms and the anneal branch
        XCTAssertEqual(outcome.rerun.runSeconds, outcome.results.runSeconds)
        for (first, second) in zip(outcome.results.arms, outcome.rerun.arms) {
            XCTAssertEqual(first.downstream, second.downstream, first.name)
            XCTAssertEqual(first.upstream, second.upstream, first.name)
            XCTAssertEqual(first.backtest, second.backtest, first.name)
        }
    }

    func testAnInterruptEndsTheStudyWithAnErrorThatSaysHowToContinue() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writePrepared(to: root.appendingPathComponent("up"), seed: 1)
        try TestCorpus.writePrepared(to: root.appendingPathComponent("down"), seed: 11)
        XCTAssertThrowsError(try Self.study(root).run(console: ConsoleProgress(mode: .silent), shouldStop: { true })) {
            XCTAssertTrue("\($0)".contains("interrupted in \(root.path)/study/upstream; rerun with --reuse"), "\($0)")
        }
    }

    func testCorporaWithDifferentTokenizersAreRefused() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writePrepared(to: root.appendingPathComponent("a"), tokenizer: "{\"one\": 1}")
        try TestCorpus.writePrepared(to: root.appendingPathComponent("b"), tokenizer: "{\"two\": 2}")
        let (a, b) = (root.appendingPathComponent("a").path, root.appendingPathComponent("b").path)
        XCTAssertThrowsError(try StudyCPTCorpora(upstream: a, downstream: b)) {
            XCTAssertTrue("\($0)".hasPrefix("--upstream \(a) and --downstream \(b) were tokenized with different tokenizers"), "\($0)")
        }
    }

    func testADirectoryThatIsNoPreparedCorpusIsNamed() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writePrepared(to: root.appendingPathComponent("a"))
        let missing = root.appendingPathComponent("missing").path
        XCTAssertThrowsError(try StudyCPTCorpora(upstream: root.appendingPathComponent("a").path, downstream: missing)) {
            XCTAssertTrue("\($0)".hasPrefix("--downstream \(missing): not a prepared corpus (no corpus.json)"), "\($0)")
        }
    }
}
