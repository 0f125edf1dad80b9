import AudioData
import Foundation
import Layers
import Objectives
import Tensors
import TestSupport
import Training
import XCTest

/// w2v-BERT through the shared trainer: a Conformer frame encoder trains with both losses, the loss falls, the run
/// resumes exactly, the checkpoint loads as a frame encoder for probes (the prediction head and quantiser left
/// behind), and recipes that cannot run are rejected with the key that is wrong.
final class W2vBERTTrainingTests: XCTestCase {
    static func recipe(_ features: URL, steps: Int = 10) throws -> Recipe {
        try Recipe.parse("""
            model: {flavor: audio_frames, block: conformer, conformer_kernel: 3, layers: 2, d_model: 16, heads: 2,
                    mlp_hidden: 32, context: 24, frame_stack: 2, positions: none, norm_eps: 1.0e-5}
            objective:
              kind: w2v_bert
              w2v_bert: {contrastive_layers: 1, mlm_weight: 0.5, span_length: 3, num_negatives: 5, codebook_entries: 8,
                         codevector_dim: 8, proj_dim: 8, temperature_decay: 0.99}
            data: {features: \(features.path)}
            optim: {lr: 3.0e-3, batch_size: 3, grad_accum: 2}
            schedule: {kind: cosine, warmup: 2}
            train: {steps: \(steps), eval_every: 5, eval_batches: 1, log_every: 1, checkpoint_every: 5, keep_last: 2, seed: 4}
            """)
    }

    func testEveryPartTrainsAndTheLossIsBothTerms() {
        var generator = RandomGenerator(seed: 3)
        let encoder = AudioFrameEncoder(AudioEncoderConfig(featureDimension: 4, hiddenSize: 8, layers: 2, heads: 2, maxFrames: 16,
                                                           frameStack: 2, positions: .none, block: .conformer, conformerKernel: 3),
                                        maskEmbedding: true, generator: &generator)
        var config = Wav2Vec2Config()
        (config.codebookEntries, config.codevectorDimension, config.projectionDimension, config.spanLength, config.negatives) = (4, 4, 4, 2, 3)
        let model = Wav2Vec2FramesForPreTraining(encoder: encoder, config: config, contrastiveLayers: 1, generator: &generator)
        let batch = FeatureBatch(features: Tensor.normal([2, 16, 4], std: 1, generator: &generator), lengths: [16, 12])
        var losses: [Float] = []
        for weight: Float in [0, 2] {
            config.maskedPredictionWeight = weight
            let objective = Wav2Vec2(model: model, config: config)
            objective.prepare(step: 0)
            var draws = RandomGenerator(seed: 9)
            let (loss, _) = objective.loss(batch, generator: &draws)
            losses.append(loss.item)
            model.zeroGrad()
            loss.backward()
            let metrics = objective.drainMetrics()
            let prediction = try! XCTUnwrap(metrics["mlm_loss"])
            XCTAssertGreaterThan(prediction, 0)
            XCTAssertTrue((0...1).contains(metrics["mlm_accuracy"]!))
            if weight == 0 {
                XCTAssertNil(model.codePredictionHead!.weight.grad.flatMap { $0.scalars.contains { $0 != 0 } ? true : nil },
                             "β = 0: no gradient reaches the prediction head")
            } else {
                XCTAssertEqual(Double(losses[1] - losses[0]), 2 * prediction, accuracy: 1e-4, "the same draws, + β · prediction")
                for (name, parameter) in model.namedParameters() {
                    XCTAssertTrue(parameter.grad.map { $0.scalars.contains { $0 != 0 } } ?? false, "\(name) gets no gradient")
                }
            }
        }
    }

    func testLossFallsResumesAndCheckpointLoadsAsAFrameEncoder() throws {
        let root = try makeTemporaryDirectory()
        let recipe = try Self.recipe(try AudioTrainingTests.featureCorpus(root))
        let corpus = try TrainingCorpus.load(recipe.data)
        let run = root.appendingPathComponent("run")
        XCTAssertTrue(try Trainer(recipe: recipe, runDirectory: run, corpus: corpus, console: ConsoleProgress(mode: .silent)).run().finished)
        let rows = try readMetrics(run.appendingPathComponent("metrics.jsonl")).filter { $0.loss != nil }
        let losses = rows.compactMap(\.loss)
        XCTAssertEqual(losses.count, 10)
        XCTAssertTrue(losses.allSatisfy(\.isFinite), "\(losses)")
        XCTAssertLessThan(losses.suffix(3).reduce(0, +), losses.prefix(3).reduce(0, +), "the loss falls: \(losses)")
        XCTAssertNotNil(rows.last?.objectiveMetrics["mlm_loss"])
        XCTAssertNotNil(rows.last?.objectiveMetrics["contrastive_loss"])

        try assertResumesExactly(recipe, corpus: corpus, root: root, completed: run)

        let loaded = try loadAudioEncoder(run)
        let frames = try XCTUnwrap(loaded.encoder as? AudioFrameEncoder)
        XCTAssertTrue(frames.layers.allSatisfy { $0 is ConformerLayer })
        let states = try loaded.timeStates(FeatureMatrix(frameCount: 20, dimension: 16, values: (0..<320).map { Float($0 % 7) }))
        XCTAssertEqual(states.map(\.shape), [[10, 16], [10, 16], [10, 16]], "the input layer and two Conformer layers")
        XCTAssertTrue(states[2].scalars.allSatisfy(\.isFinite))
    }

    func testRecipesThatCannotRunAreRejected() {
        let frames = "model: {flavor: audio_frames, layers: 2, block: conformer}\ndata: {features: f}\n"
        let cases: [(String, String)] = [
            (frames + "objective: {kind: w2v_bert, w2v_bert: {contrastive_layers: 2}}",
             "contrastive_layers must be 1 … 1"),
            (frames + "objective: {kind: w2v_bert, w2v_bert: {feature_penalty_weight: 1}}", "feature_penalty_weight does not apply"),
            (frames + "objective: {kind: w2v_bert, w2v_bert: {mlm_weight: -1}}", "mlm_weight must be ≥ 0"),
            (frames + "objective: {kind: w2v_bert, w2v_bert: {span_lenght: 3}}", "span_lenght"),
            ("model: {flavor: audio_frames, block: conformer, conformer_kernel: 4}\nobjective: {kind: tera}\ndata: {features: f}",
             "conformer_kernel must be odd"),
            ("model: {flavor: audio_frames, conformer_kernel: 5}\nobjective: {kind: tera}\ndata: {features: f}",
             "conformer_kernel applies to block: conformer only"),
            ("model: {flavor: audio_frames, block: conformer, d_model: 12, heads: 4}\nobjective: {kind: tera}\ndata: {features: f}",
             "d_model / heads (3) must be even"),
            ("model: {flavor: audio_patches, block: conformer}\nobjective: {kind: ssast}\ndata: {features: f}", "block"),
            ("model: {flavor: audio_frames, block: transformer}\nobjective: {kind: tera}\ndata: {features: f}", "bert, conformer"),
            ("model: {flavor: audio_patches}\nobjective: {kind: w2v_bert}\ndata: {features: f}", "w2v_bert"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try Recipe.parse(yaml)) { XCTAssertTrue("\($0)".contains(expected), "\(yaml)\n→ \($0)") }
        }
    }

    func testTheCommittedRecipeParses() throws {
        let recipe = try Recipe.load(repositoryRoot.appendingPathComponent("recipes/w2v-bert-small.yaml"))
        XCTAssertEqual([recipe.model.flavor.rawValue, recipe.objective.kind.rawValue], ["audio_frames", "w2v_bert"])
        XCTAssertEqual(recipe.model.block, .conformer)
        XCTAssertEqual(recipe.objective.w2vBERT?.contrastiveLayers, 1)
        XCTAssertEqual(recipe.objective.w2vBERT?.wav2vec2.numNegatives, 100)
    }
}
