import Foundation
import Layers
import SafeTensors
import Tensors
import TestSupport
import Training
import XCTest

/// Learning parity with PyTorch (issue 3, Numbers): the tiny GPT of scripts/train_parity.py (vocab 256 bytes,
/// 2 layers × 64, context 32, 8 windows × 2 micro-batches, 200 AdamW steps with warmup + cosine, clipping 1.0),
/// from the same initial weights on the same windows, trained by our Trainer end to end (batcher, accumulation,
/// schedule, clipping, AdamW, evaluation).
///
/// Tolerances: the final validation loss within 1 % of PyTorch's (the issue's bar; measured: 0.0002 %); every
/// step's training loss within 0.1 % (measured worst: 0.006 %: float32 rounding differences, which grow slowly
/// over 200 steps), and each step's learning rate within 1e-6 relative (both sides round a float64 cosine to
/// float32; libm's and Python's cos may differ in the last double bit, which can flip the float32 rounding).
final class LearningParityTests: XCTestCase {
    func testTwoHundredStepsEndWithinOnePercentOfPyTorch() throws {
        let url = fixtureURL("TrainingTests", "train_parity.safetensors")
        let fixture = try SafeTensorsFile(contentsOf: url)
        func setting(_ key: String) throws -> Double {
            try XCTUnwrap(fixture.metadata[key].flatMap(Double.init), "metadata \(key)")
        }
        func floats(_ name: String) throws -> [Float] { try fixture.floats(name).values }
        func tokens(_ name: String) throws -> [Int32] { try fixture.ints(name).values.map { Int32($0) } }

        var recipe = Recipe()
        recipe.model.vocabSize = Int(try setting("vocab_size"))
        recipe.model.context = Int(try setting("context"))
        recipe.model.layers = Int(try setting("layers"))
        recipe.model.dModel = Int(try setting("d_model"))
        recipe.model.heads = Int(try setting("heads"))
        recipe.optim.batchSize = Int(try setting("batch_size"))
        recipe.optim.gradAccum = Int(try setting("grad_accum"))
        recipe.optim.lr = Float(try setting("lr"))
        recipe.optim.betas = [Float(try setting("beta1")), Float(try setting("beta2"))]
        recipe.optim.eps = Float(try setting("eps"))
        recipe.optim.weightDecay = Float(try setting("weight_decay"))
        recipe.optim.clip = Float(try setting("clip"))
        recipe.schedule.kind = .cosine
        recipe.schedule.warmup = Int(try setting("warmup"))
        recipe.schedule.minLR = Float(try setting("min_lr"))
        recipe.train.steps = Int(try setting("steps"))
        recipe.train.seed = UInt64(try setting("seed"))
        recipe.train.logEvery = 1
        recipe.train.evalEvery = 0
        recipe.train.checkpointEvery = 0
        let corpus = TrainingCorpus(trainShards: [try tokens("train_tokens")],
                                    validation: .init(name: "val", shards: [try tokens("val_tokens")], bytesPerToken: 1),
                                    vocabularySize: recipe.model.vocabSize!)

        let run = try makeTemporaryDirectory()
        let trainer = try Trainer(recipe: recipe, runDirectory: run, corpus: corpus, console: ConsoleProgress(mode: .silent))
        try trainer.model.load(try fixture.tensors(prefix: "param."))
        let summary = try trainer.run()

        let rows = try readMetrics(run.appendingPathComponent("metrics.jsonl"))
        let expectedLoss = try floats("loss"), expectedRate = try floats("lr")
        XCTAssertEqual(rows.count, expectedLoss.count)
        var worst = (step: 0, relative: 0.0)
        for (row, (loss, rate)) in zip(rows, zip(expectedLoss, expectedRate)) {
            let actual = try XCTUnwrap(row.loss)
            let relative = abs(actual - Double(loss)) / Double(loss)
            if relative > worst.relative { worst = (row.step, relative) }
            XCTAssertLessThan(relative, 1e-3, "loss at step \(row.step): ours \(actual), torch \(loss)")
            XCTAssertEqual(try XCTUnwrap(row.lr), Double(rate), accuracy: 1e-6 * Double(rate), "lr at step \(row.step)")
        }
        let expectedVal = try floats("val_loss")[0]
        let actualVal = try XCTUnwrap(summary.evaluation?.loss)
        let gap = abs(actualVal - Double(expectedVal)) / Double(expectedVal)
        print("learning parity: val loss ours \(actualVal), torch \(expectedVal) (\(String(format: "%.3f", 100 * gap)) %); "
              + "worst step loss gap \(String(format: "%.3f", 100 * worst.relative)) % at step \(worst.step)")
        XCTAssertLessThan(gap, 0.01, "final val loss: ours \(actualVal), torch \(expectedVal)")
    }
}
