import Foundation
import Studies
import Training
import TestSupport
import XCTest

/// The study's learning-curve backtest, in process, on tiny runs trained here: what `pretrain predict RUN
/// --backtest --from-fraction 0.3 [--prior-run PRIOR]` computes on the val-loss curve.
final class StudyBacktestTests: XCTestCase {
    /// A 1-layer d=16 GPT trained for 100 steps on a Markov-chain corpus, evaluated every other step.
    private func trainRun(in root: URL, name: String, schedule: ScheduleSection.Kind = .cosine) throws -> URL {
        let corpus = root.appendingPathComponent("corpus")
        if !FileManager.default.fileExists(atPath: corpus.path) { try TestCorpus.writePrepared(to: corpus) }
        var recipe = Recipe()
        recipe.data.corpus = corpus.path
        recipe.model.layers = 1
        recipe.model.dModel = 16
        recipe.model.heads = 2
        recipe.model.context = 8
        recipe.optim.batchSize = 4
        recipe.optim.lr = 3e-3
        recipe.schedule.kind = schedule
        recipe.schedule.warmup = 5
        if schedule == .cosine { recipe.schedule.minLR = 3e-4 }
        recipe.train.steps = 100
        recipe.train.evalEvery = 2
        recipe.train.evalBatches = 2
        recipe.train.logEvery = 10
        recipe.train.checkpointEvery = 0
        let directory = root.appendingPathComponent(name)
        let trainer = try Trainer(recipe: recipe, runDirectory: directory, corpus: try TrainingCorpus.load(recipe.data),
                                  start: .fresh, console: ConsoleProgress(mode: .silent))
        XCTAssertTrue(try trainer.run().finished)
        return directory
    }

    func testTheBacktestFitsTheFirst30PercentAndPredictsTheLastPeriodicEvaluation() throws {
        let run = try trainRun(in: try makeTemporaryDirectory(), name: "run")
        let backtest = try XCTUnwrap(StudyBacktester.backtest(runDirectory: run))
        let expected = try RunLearningCurve.load(runDirectory: run, metric: .valLoss).backtest(fraction: 0.3)
        XCTAssertEqual(expected.prediction.lastStep, 30)
        XCTAssertEqual(backtest.model, expected.prediction.fit.model.rawValue)
        XCTAssertEqual(backtest.predicted, expected.prediction.loss)
        // The final evaluation reads the whole val split, the periodic ones two batches of it: the last periodic
        // one is the loss predicted.
        let records = try readMetrics(run.appendingPathComponent("metrics.jsonl"))
        XCTAssertEqual(backtest.actual, records.last { $0.step < 100 && $0.valLoss != nil }?.valLoss)
        XCTAssertEqual(backtest.relativeError, (backtest.predicted - backtest.actual) / backtest.actual)
        XCTAssertLessThan(abs(backtest.relativeError), 0.5)
    }

    func testAPriorRunLendsItsAnnealingShape() throws {
        let root = try makeTemporaryDirectory()
        let prior = try trainRun(in: root, name: "prior")
        let run = try trainRun(in: root, name: "run")
        let shape = try XCTUnwrap(try RunLearningCurve.load(runDirectory: prior, metric: .valLoss).annealingPrior())
        let expected = try RunLearningCurve.load(runDirectory: run, metric: .valLoss).backtest(fraction: 0.3, prior: shape)
        let backtest = try XCTUnwrap(StudyBacktester.backtest(runDirectory: run, priorRun: prior))
        XCTAssertEqual(backtest.model, expected.prediction.fit.model.rawValue)
        XCTAssertEqual(backtest.predicted, expected.prediction.loss)
    }

    func testAPriorRunWhoseScheduleNeverDecaysGivesNoBacktest() throws {
        let root = try makeTemporaryDirectory()
        let prior = try trainRun(in: root, name: "constant", schedule: .constant)
        let run = try trainRun(in: root, name: "run")
        XCTAssertNil(StudyBacktester.backtest(runDirectory: run, priorRun: prior))
    }

    func testADirectoryWithoutMetricsGivesNoBacktest() throws {
        XCTAssertNil(StudyBacktester.backtest(runDirectory: try makeTemporaryDirectory()))
    }
}
