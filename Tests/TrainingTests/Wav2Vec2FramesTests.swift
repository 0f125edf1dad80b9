import AudioData
import Foundation
import Layers
import Objectives
import Tensors
import TestSupport
import Training
import XCTest

/// wav2vec 2.0's objective over fbank frames: masked latent frames reach the Transformer as the mask embedding and
/// the quantiser reads the stacked frames; through the shared trainer the loss is finite and falls, the run
/// resumes exactly, and the checkpoint loads as a frame encoder for probes; recipes that cannot run are rejected.
final class Wav2Vec2FramesTests: XCTestCase {
    static func recipe(_ features: URL, steps: Int = 10) throws -> Recipe {
        try Recipe.parse("""
            model: {flavor: audio_frames, layers: 1, d_model: 16, heads: 2, mlp_hidden: 32, context: 24, frame_stack: 2,
                    positions: convolutional, conv_position_kernel: 4, conv_position_groups: 4}
            objective:
              kind: wav2vec2
              wav2vec2: {span_length: 3, num_negatives: 5, codebook_entries: 8, codevector_dim: 8, proj_dim: 8, temperature_decay: 0.99}
            data: {features: \(features.path)}
            optim: {lr: 3.0e-3, batch_size: 3, grad_accum: 2}
            schedule: {kind: cosine, warmup: 2}
            train: {steps: \(steps), eval_every: 5, eval_batches: 1, log_every: 1, checkpoint_every: 5, keep_last: 2, seed: 4}
            """)
    }

    static func model(_ generator: inout RandomGenerator) -> Wav2Vec2FramesForPreTraining {
        let config = AudioEncoderConfig(featureDimension: 4, hiddenSize: 8, layers: 1, heads: 2, maxFrames: 16, frameStack: 2,
                                        positions: .convolutional, convolutionKernel: 2, convolutionGroups: 2)
        var w2v = Wav2Vec2Config()
        (w2v.codebookEntries, w2v.codevectorDimension, w2v.projectionDimension) = (4, 4, 4)
        return Wav2Vec2FramesForPreTraining(encoder: AudioFrameEncoder(config, maskEmbedding: true, generator: &generator),
                                            config: w2v, generator: &generator)
    }

    func testQuantizerReadsStackedFramesAndMaskedFramesBecomeTheMaskEmbedding() {
        var generator = RandomGenerator(seed: 2)
        let model = Self.model(&generator)
        model.eval()
        let first = FeatureBatch(features: Tensor.normal([1, 10, 4], std: 1, generator: &generator), lengths: [10])
        let second = FeatureBatch(features: Tensor.normal([1, 10, 4], std: 1, generator: &generator), lengths: [10])
        let latents = model.latentFrames(first)
        XCTAssertEqual(latents.quantizerInput.shape, [1, 5, 8], "pairs of 4-bin frames side by side")
        XCTAssertEqual(latents.quantizerInput.scalars, first.features.scalars, "(1, 10, 4) and (1, 5, 8) hold the same values")
        XCTAssertEqual(latents.frameLengths, [5])
        XCTAssertNil(latents.penaltyInput, "nothing trained before the quantiser")
        let everyFrame = [Bool](repeating: true, count: 5)
        let allMasked = [first, second].map { model.contextualize(model.latentFrames($0), masked: everyFrame).last!.scalars }
        XCTAssertEqual(allMasked[0], allMasked[1], "with every frame masked the input no longer matters")
        let unmasked = [first, second].map { model.contextualize(model.latentFrames($0), masked: [Bool](repeating: false, count: 5)).last!.scalars }
        XCTAssertNotEqual(unmasked[0], unmasked[1])
        var oneMasked = [Bool](repeating: false, count: 5)
        oneMasked[2] = true
        XCTAssertNotEqual(model.contextualize(latents, masked: oneMasked).last!.scalars, unmasked[0], "a masked frame changes the states")
    }

    func testLossTrainsEveryPartOfTheModel() {
        var generator = RandomGenerator(seed: 3)
        let model = Self.model(&generator)
        var w2v = Wav2Vec2Config()
        (w2v.codebookEntries, w2v.codevectorDimension, w2v.projectionDimension, w2v.spanLength, w2v.negatives) = (4, 4, 4, 2, 3)
        let objective = Wav2Vec2(model: model, config: w2v)
        objective.prepare(step: 0)
        let batch = FeatureBatch(features: Tensor.normal([2, 16, 4], std: 1, generator: &generator), lengths: [16, 12])
        let (loss, predicted) = objective.loss(batch, generator: &generator)
        XCTAssertTrue(loss.item.isFinite)
        XCTAssertGreaterThan(predicted, 0)
        XCTAssertLessThanOrEqual(predicted, 14, "only latent frames that hold audio are masked: 8 + 6")
        loss.backward()
        for (name, parameter) in model.namedParameters() {
            XCTAssertTrue(parameter.grad.map { $0.scalars.contains { $0 != 0 } } ?? false, "\(name) gets no gradient")
        }
        XCTAssertEqual(objective.drainMetrics()["feature_penalty"], 0)
    }

    func testLossFallsResumesAndCheckpointLoadsAsAFrameEncoder() throws {
        let root = try makeTemporaryDirectory()
        let recipe = try Self.recipe(try AudioTrainingTests.featureCorpus(root))
        let corpus = try TrainingCorpus.load(recipe.data)
        let run = root.appendingPathComponent("run")
        let summary = try Trainer(recipe: recipe, runDirectory: run, corpus: corpus, console: ConsoleProgress(mode: .silent)).run()
        XCTAssertTrue(summary.finished)
        let rows = try readMetrics(run.appendingPathComponent("metrics.jsonl")).filter { $0.loss != nil }
        let losses = rows.compactMap(\.loss)
        XCTAssertEqual(losses.count, 10)
        XCTAssertTrue(losses.allSatisfy(\.isFinite), "\(losses)")
        XCTAssertLessThan(losses.suffix(3).reduce(0, +), losses.prefix(3).reduce(0, +), "the loss falls: \(losses)")
        let usage = try XCTUnwrap(rows.last?.objectiveMetrics["codebook_usage"])
        XCTAssertTrue(usage > 0 && usage <= 1, "\(usage)")

        let interrupted = root.appendingPathComponent("interrupted")
        try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus, console: ConsoleProgress(mode: .silent)).run(stopAfter: 5)
        let resumed = try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus, start: .resume,
                                  console: ConsoleProgress(mode: .silent))
        XCTAssertTrue(try resumed.run().finished)
        assertSameCurves(try readMetrics(interrupted.appendingPathComponent("metrics.jsonl")),
                         try readMetrics(run.appendingPathComponent("metrics.jsonl")))

        let loaded = try loadAudioEncoder(run)
        XCTAssertTrue(loaded.encoder is AudioFrameEncoder)
        let states = try loaded.timeStates(FeatureMatrix(frameCount: 20, dimension: 16, values: (0..<320).map { Float($0 % 7) }))
        XCTAssertEqual(states.map(\.shape), [[10, 16], [10, 16]], "the input layer and the one Transformer layer, 20 ms a step")
        XCTAssertTrue(states[1].scalars.allSatisfy(\.isFinite))
        XCTAssertFalse(loaded.encoder.parameters.contains { $0.requiresGrad }, "frozen for probes")
        XCTAssertFalse(try isWaveformCheckpoint(run))
    }

    func testFrameRecipesThatCannotRunAreRejected() {
        let cases: [(String, String)] = [
            ("model: {flavor: audio_frames}\nobjective: {kind: wav2vec2, wav2vec2: {feature_penalty_weight: 10}}\ndata: {features: f}",
             "feature_penalty_weight applies to audio_waveform only"),
            ("model: {flavor: audio_frames}\nobjective: {kind: wav2vec2, wav2vec2: {codebook_groups: 3}}\ndata: {features: f}",
             "codevector_dim (256) must be a positive multiple of codebook_groups (3)"),
            ("model: {flavor: audio_frames}\nobjective: {kind: tera, wav2vec2: {span_length: 3}}\ndata: {features: f}",
             "objective.wav2vec2 applies to objective.kind wav2vec2 only"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try Recipe.parse(yaml)) { XCTAssertTrue("\($0)".contains(expected), "\(yaml)\n→ \($0)") }
        }
        XCTAssertNoThrow(try Recipe.parse("model: {flavor: audio_frames}\nobjective: {kind: wav2vec2, wav2vec2: {feature_penalty_weight: 0}}\ndata: {features: f}"))
    }

    func testTheCommittedRecipeParses() throws {
        let recipe = try Recipe.load(repositoryRoot.appendingPathComponent("recipes/wav2vec2-frames-small.yaml"))
        XCTAssertEqual([recipe.model.flavor.rawValue, recipe.objective.kind.rawValue], ["audio_frames", "wav2vec2"])
        XCTAssertEqual(recipe.model.frameStack, 2)
        XCTAssertNil(recipe.objective.wav2vec2?.featurePenaltyWeight)
    }
}
