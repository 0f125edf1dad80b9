import Foundation
import Layers
import Objectives
import Tensors
import TestSupport
import Training
import XCTest

/// Position prediction over text: a BERT encoder with its position table zeroed and frozen against the PyTorch
/// reference of scripts/make_text_position_fixtures.py (loss and every gradient within 1e-5 of each tensor's largest
/// magnitude), and a run through the trainer: the loss falls, the table stays zero, the run resumes exactly.
final class TextPositionPredictionTests: XCTestCase {
    func testTextPositionPredictionMatchesTorch() throws {
        let fixture = try AudioObjectiveFixtureTests.Fixture("text_position_prediction.safetensors")
        var generator = RandomGenerator(seed: 0)
        let bert = BertModel(BertConfig(vocabSize: fixture.int("vocab_size"), hiddenSize: fixture.int("hidden_size"),
                                        layers: fixture.int("layers"), heads: fixture.int("heads"),
                                        intermediateSize: fixture.int("intermediate_size"), maxPositions: fixture.int("max_positions"),
                                        dropout: 0), generator: &generator)
        let model = TextPositionPredictionModel(bert: bert, generator: &generator)
        try model.load(try fixture.tensors(prefix: "param."))
        let objective = TextPositionPrediction(model: model)
        let stored = try fixture.file.ints("tokens")
        let tokens = IntTensor(stored.values.map { Int32($0) }, shape: stored.shape)
        var unused = RandomGenerator(seed: 1)
        let (loss, predicted) = objective.loss(tokens, generator: &unused)
        XCTAssertEqual(predicted, stored.shape[0] * fixture.int("context"))
        assertMatchesReference(loss, try fixture.tensor("text_position.loss"), relative: AudioObjectiveFixtureTests.relative, "loss")
        loss.backward()
        assertGradientsMatchReference(model.namedParameters().filter { $0.tensor.requiresGrad },
                                      expected: try fixture.tensors(prefix: "text_position.grad."),
                                      relative: AudioObjectiveFixtureTests.relative, "text position prediction")
        XCTAssertNil(model.bert.embeddings.position.weight.grad, "the position table is frozen")
    }

    func testLossFallsTheTableStaysZeroAndTheRunResumes() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writeMaskedLMCorpus(in: root)
        let recipe = try Recipe.parse("""
            model: {flavor: bert, layers: 1, d_model: 16, heads: 2, context: 12, dropout: 0}
            objective: {kind: position_prediction}
            data: {corpus: \(root.appendingPathComponent("corpus").path)}
            optim: {lr: 3.0e-3, batch_size: 4}
            schedule: {kind: cosine, warmup: 2}
            train: {steps: 12, eval_every: 6, eval_batches: 1, log_every: 1, checkpoint_every: 6, keep_last: 2, seed: 3}
            """)
        let corpus = try TrainingCorpus.load(recipe.data)
        let run = root.appendingPathComponent("run")
        let trainer = try Trainer(recipe: recipe, runDirectory: run, corpus: corpus, console: ConsoleProgress(mode: .silent))
        XCTAssertTrue(try trainer.run().finished)
        let losses = try readMetrics(run.appendingPathComponent("metrics.jsonl")).compactMap(\.loss)
        XCTAssertEqual(losses.count, 12)
        XCTAssertLessThan(losses.suffix(3).reduce(0, +), losses.prefix(3).reduce(0, +), "the loss falls: \(losses)")
        XCTAssertLessThan(losses[0], log(12.0) + 1, "near chance (ln 12) at first")
        let table = try XCTUnwrap((trainer.objective as? TextPositionPrediction)?.predictionModel.bert.embeddings.position.weight)
        XCTAssertTrue(table.scalars.allSatisfy { $0 == 0 }, "no position information after training either")
        try assertResumesExactly(recipe, corpus: corpus, root: root, completed: run, stopAfter: 6)
        XCTAssertThrowsError(try Recipe.parse("model: {flavor: gpt2}\nobjective: {kind: position_prediction}\ndata: {corpus: c}")) {
            XCTAssertTrue("\($0)".contains("position_prediction"), "\($0)")
        }
    }
}
