import Foundation
import TestSupport
import Training
import XCTest

/// `pretrain predict` shows the run's own final evaluation beside the prediction for that step.
final class PredictMeasuredTests: XCTestCase {
    func testTheFinalEvaluationIsReportedBesideThePrediction() throws {
        let run = try makeTemporaryDirectory()
        var recipe = tinyRecipe(steps: 20)
        recipe.train.evalEvery = 2
        let summary = try Trainer(recipe: recipe, runDirectory: run, corpus: TestCorpus.make(),
                                  console: ConsoleProgress(mode: .silent)).run()
        let measured = RunLearningCurve.measured(runDirectory: run, metric: .valLoss, at: 20)
        XCTAssertEqual(measured, summary.evaluation?.loss, "the last row's val_loss: the whole split at step 20")
        XCTAssertNil(RunLearningCurve.measured(runDirectory: run, metric: .valLoss, at: 21))
        let result = try runPretrain(["predict", run.path])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains(String(format: "measured at step 20: %.4f", try XCTUnwrap(measured))), result.output)
    }
}
