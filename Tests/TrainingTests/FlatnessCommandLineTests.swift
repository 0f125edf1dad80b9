import Foundation
import TestSupport
import Training
import XCTest

/// `pretrain flatness` as a user runs it: on a tiny trained GPT checkpoint its JSON report holds the trace's draws and
/// interval, the top eigenvalue and the method; mistakes get one line naming the file or the flag.
final class FlatnessCommandLineTests: XCTestCase {
    /// ROOT/corpus and ROOT/run, a GPT of 1 layer × 16 trained for 4 steps on it.
    private func trainTinyRun() throws -> URL {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writeTinyRecipe(in: root, layers: 1, optim: "{batch_size: 2}",
                                      train: "{steps: 4, eval_every: 4, eval_batches: 1, checkpoint_every: 4}")
        let train = try runPretrain(["train", "tiny.yaml", "--run-dir", "run"], in: root)
        XCTAssertEqual(train.status, 0, train.output)
        return root
    }

    func testFlatnessWritesItsReportAsJSON() throws {
        let root = try trainTinyRun()
        let result = try runPretrain(["flatness", "run", "--data", "corpus", "--batches", "2", "--batch-size", "3",
                                      "--samples", "4", "--iterations", "3", "--seed", "7", "--out", "flatness.json"], in: root)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("Hessian trace"), result.output)
        XCTAssertTrue(result.output.contains("central differences of gradients"), "the output names the method: \(result.output)")

        let data = try Data(contentsOf: root.appendingPathComponent("flatness.json"))
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(report["split"] as? String, "val")
        XCTAssertEqual(report["batches"] as? Int, 2)
        XCTAssertEqual(report["batch_size"] as? Int, 3)
        XCTAssertEqual(report["predicted_tokens"] as? Int, 2 * 3 * 8)
        XCTAssertEqual(report["gradient_evaluations"] as? Int, 2 * (4 + 3), "two gradients per product, 4 draws and 3 iterations")
        XCTAssertGreaterThan(try XCTUnwrap(report["parameters"] as? Int), 1000)
        XCTAssertTrue(try XCTUnwrap(report["checkpoint"] as? String).hasSuffix("run/checkpoints/step_000004"))
        let product = try XCTUnwrap(report["hessian_vector_product"] as? [String: Any])
        XCTAssertTrue(try XCTUnwrap(product["method"] as? String).hasPrefix("central differences of gradients"))
        XCTAssertEqual(product["relative_step"] as? Double, 1e-3)

        let trace = try XCTUnwrap(report["trace"] as? [String: Any])
        let samples = try XCTUnwrap(trace["samples"] as? [Double])
        XCTAssertEqual(samples.count, 4)
        let mean = try XCTUnwrap(trace["mean"] as? Double), halfWidth = try XCTUnwrap(trace["half_width_95"] as? Double)
        XCTAssertEqual(mean, samples.reduce(0, +) / 4, accuracy: 1e-9 * max(1, abs(mean)))
        let interval = try XCTUnwrap(trace["interval_95"] as? [Double])
        XCTAssertEqual(interval.count, 2)
        XCTAssertEqual(interval[0], mean - halfWidth, accuracy: 1e-9 * max(1, abs(mean)))
        XCTAssertEqual(interval[1], mean + halfWidth, accuracy: 1e-9 * max(1, abs(mean)))
        XCTAssertEqual(trace["seed"] as? Int, 7)

        let top = try XCTUnwrap(report["top_eigenvalue"] as? [String: Any])
        XCTAssertNotNil(top["eigenvalue"] as? Double)
        XCTAssertNotNil(top["relative_change"] as? Double)
        XCTAssertLessThanOrEqual(try XCTUnwrap(top["iterations"] as? Int), 3)
        XCTAssertNotNil(top["converged"] as? Bool)

        // The same batches as `pretrain eval --batches 2 --batch-size 3`: the same loss.
        let eval = try runPretrain(["eval", "run", "--data", "corpus", "--batches", "2", "--batch-size", "3", "--json"], in: root)
        XCTAssertEqual(eval.status, 0, eval.output)
        let evaluation = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(eval.output.utf8)) as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(report["loss"] as? Double), try XCTUnwrap(evaluation["loss"] as? Double), accuracy: 1e-6)
    }

    /// A BERT checkpoint is measured on its masked-LM loss, with the masks `pretrain eval` draws: the same loss.
    func testFlatnessOfAMaskedLanguageModel() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writeMaskedLMCorpus(in: root)
        try """
            model: {flavor: bert, layers: 1, d_model: 16, heads: 2, context: 16}
            objective: {kind: masked_lm}
            data: {corpus: corpus}
            optim: {batch_size: 4}
            train: {steps: 3, eval_every: 3, checkpoint_every: 3}
            """.write(to: root.appendingPathComponent("bert.yaml"), atomically: true, encoding: .utf8)
        let train = try runPretrain(["train", "bert.yaml", "--run-dir", "run"], in: root)
        XCTAssertEqual(train.status, 0, train.output)
        let result = try runPretrain(["flatness", "run", "--data", "corpus", "--batch-size", "4", "--samples", "3",
                                      "--iterations", "2", "--out", "flatness.json"], in: root)
        XCTAssertEqual(result.status, 0, result.output)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("flatness.json")))
            as? [String: Any])
        let trace = try XCTUnwrap(report["trace"] as? [String: Any])
        XCTAssertEqual((trace["samples"] as? [Double])?.count, 3)
        XCTAssertTrue(try XCTUnwrap(trace["mean"] as? Double).isFinite)
        let eval = try runPretrain(["eval", "run", "--data", "corpus", "--batches", "2", "--batch-size", "4", "--json"], in: root)
        XCTAssertEqual(eval.status, 0, eval.output)
        let evaluation = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(eval.output.utf8)) as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(report["loss"] as? Double), try XCTUnwrap(evaluation["loss"] as? Double), accuracy: 1e-6)
        XCTAssertEqual(report["predicted_tokens"] as? Int, evaluation["predicted_tokens"] as? Int)
    }

    func testMistakesGetOneLineNamingTheFileOrTheFlag() throws {
        let root = try trainTinyRun()
        func firstLine(_ output: String) -> String { output.split(separator: "\n").first.map(String.init) ?? "" }

        let missing = try runPretrain(["flatness", "nowhere", "--data", "corpus"], in: root)
        XCTAssertEqual(missing.status, 1, missing.output)
        XCTAssertEqual(missing.output.split(separator: "\n").count, 1, missing.output)
        XCTAssertTrue(missing.output.contains("nowhere: no such checkpoint or run directory"), missing.output)

        try TestCorpus.writePrepared(to: root.appendingPathComponent("wide"), vocabularySize: 200)
        let wide = try runPretrain(["flatness", "run", "--data", "wide"], in: root)
        XCTAssertEqual(wide.status, 1, wide.output)
        XCTAssertEqual(wide.output.split(separator: "\n").count, 1, wide.output)
        XCTAssertTrue(wide.output.contains("wide has a vocabulary of 200 tokens, the model 64: it was tokenized with another tokenizer"),
                      wide.output)

        let noSamples = try runPretrain(["flatness", "run", "--data", "corpus", "--samples", "0"], in: root)
        XCTAssertEqual(noSamples.status, 64, noSamples.output)
        XCTAssertTrue(firstLine(noSamples.output).contains("--samples must be ≥ 2"), noSamples.output)
    }
}
