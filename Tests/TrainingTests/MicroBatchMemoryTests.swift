import Foundation
import TestSupport
import Training
import XCTest

/// A recipe whose micro-batch cannot fit in memory is refused before the first step, with the size it would need.
final class MicroBatchMemoryTests: XCTestCase {
    private func recipe(_ flavor: String = "gpt2", layers: Int, dModel: Int, context: Int, batch: Int) throws -> Recipe {
        let audio = flavor == "audio_waveform" ? "\nobjective: {kind: wav2vec2}\ndata: {waveforms: speech}" : ""
        var recipe = try Recipe.parse("model: {flavor: \(flavor), layers: \(layers), d_model: \(dModel), heads: 2, context: \(context)}" + audio)
        recipe.optim.batchSize = batch
        return recipe
    }

    /// Peak resident memory measured for these runs (above the ~50 MB of an idle process), within ±25 %.
    func testTheEstimateIsCloseToWhatTrainingMeasured() throws {
        let measured: [(Recipe, Double)] = [
            (try recipe(layers: 2, dModel: 64, context: 8192, batch: 4), 633e6),
            (try recipe(layers: 4, dModel: 64, context: 8192, batch: 4), 1046e6),
            (try recipe(layers: 2, dModel: 128, context: 8192, batch: 4), 1273e6),
            (try recipe("audio_waveform", layers: 2, dModel: 64, context: 64000, batch: 4), 540e6),
        ]
        for (recipe, bytes) in measured {
            let estimate = MicroBatchMemory.estimatedBytes(recipe, parameters: 200_000)
            XCTAssertEqual(estimate / bytes, 1, accuracy: 0.25, "\(recipe.model.flavor.rawValue) \(recipe.model.layers)×\(recipe.model.dModel)")
        }
    }

    func testAMicroBatchAboveTheAvailableMemoryIsRefusedWithItsSize() throws {
        let large = try recipe(layers: 2, dModel: 64, context: 100_000, batch: 4)
        XCTAssertThrowsError(try MicroBatchMemory.check(large, parameters: 200_000, available: 2e9)) {
            XCTAssertEqual("\($0)", "one micro-batch would need ~7.8 GB (optim.batch_size 4 × model.context 100000, 2 layers × "
                + "d_model 64), this machine has 2.0 GB available; lower optim.batch_size, model.context or the model's size")
        }
        XCTAssertNoThrow(try MicroBatchMemory.check(large, parameters: 200_000, available: 10e9))
        XCTAssertGreaterThan(try XCTUnwrap(MicroBatchMemory.availableBytes()), 0)
    }

    func testTrainRefusesARecipeTooLargeForTheMachineBeforeTheFirstStep() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writePrepared(to: root.appendingPathComponent("corpus"))
        try """
            model: {layers: 1, d_model: 16, heads: 2, context: 1000000}
            data: {corpus: corpus}
            optim: {batch_size: 100000}
            train: {steps: 1}
            """.write(to: root.appendingPathComponent("huge.yaml"), atomically: true, encoding: .utf8)
        let result = try runPretrain(["train", "huge.yaml", "--run-dir", "run"], in: root)
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("one micro-batch would need ~"), result.output)
        XCTAssertTrue(result.output.contains("lower optim.batch_size, model.context or the model's size"), result.output)
    }

    /// A model whose weights alone exceed the machine is refused from its sizes: building it would fail first.
    func testAModelTooWideToBuildIsRefusedBeforeItIsBuilt() throws {
        let wide = try recipe(layers: 1, dModel: 400_000, context: 128, batch: 1)
        XCTAssertGreaterThan(MicroBatchMemory.parametersAtLeast(layers: 1, dModel: 400_000, mlpHidden: 1_600_000, vocabulary: 0), 1.9e12)
        XCTAssertThrowsError(try MicroBatchMemory.check(wide, available: 24e9)) {
            XCTAssertTrue("\($0)".hasPrefix("one micro-batch would need ~"), "\($0)")
        }
        XCTAssertNoThrow(try MicroBatchMemory.check(try recipe(layers: 2, dModel: 64, context: 128, batch: 4), available: 2e9))
        let root = try makeTemporaryDirectory()
        try TestCorpus.writePrepared(to: root.appendingPathComponent("corpus"))
        try "model: {layers: 1, d_model: 400000, heads: 1, context: 16}\ndata: {corpus: corpus}\ntrain: {steps: 1}\n"
            .write(to: root.appendingPathComponent("wide.yaml"), atomically: true, encoding: .utf8)
        let train = try runPretrain(["train", "wide.yaml", "--run-dir", "run"], in: root)
        XCTAssertEqual(train.status, 1, train.output)
        XCTAssertTrue(train.output.contains("d_model 400000), this machine has"), train.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("run/checkpoints").path))
        let bench = try runPretrain(["bench", "step", "--model", "tiny", "--d-model", "400000", "--heads", "1"], in: root)
        XCTAssertEqual(bench.status, 64, bench.output)
        XCTAssertTrue(bench.output.contains("(--batch 16 × --seq 128, 4 layers × d_model 400000)"), bench.output)
    }
}
