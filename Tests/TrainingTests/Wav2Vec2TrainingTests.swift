import AudioData
import Foundation
import Layers
import Objectives
import Tensors
import TestSupport
import Training
import XCTest

/// wav2vec 2.0 through the shared trainer on a tiny synthetic waveform set: the loss is finite and falls, the
/// codebook's usage is logged, runs resume exactly, the checkpoint loads as a waveform encoder for probes, and
/// recipes that cannot run are rejected with the reason.
final class Wav2Vec2TrainingTests: XCTestCase {
    /// Eight 1 s files of gliding tones in noise (two in val by the manifest).
    static func waveforms(_ root: URL) throws -> URL {
        let directory = root.appendingPathComponent("speech")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var generator = RandomGenerator(seed: 9)
        var manifest: [String] = []
        for index in 0..<8 {
            let (start, end) = (Float(120 + 60 * index), Float(400 + 45 * index))
            var phase: Float = 0
            let samples = (0..<16_000).map { n -> Float in
                phase += 2 * Float.pi * (start + (end - start) * Float(n) / 16_000) / 16_000
                return 0.3 * sin(phase) * (0.6 + 0.4 * sin(Float(n) / 900)) + 0.02 * generator.nextNormal()
            }
            try writeWAV(samples, to: directory.appendingPathComponent("u\(index).wav"))
            manifest.append("{\"path\": \"u\(index).wav\", \"split\": \"\(index < 6 ? "train" : "val")\"}")
        }
        try manifest.joined(separator: "\n").write(to: directory.appendingPathComponent("manifest.jsonl"), atomically: true, encoding: .utf8)
        return directory
    }

    static func recipe(_ waveforms: URL, steps: Int = 12) throws -> Recipe {
        try Recipe.parse("""
            model: {flavor: audio_waveform, layers: 1, d_model: 16, heads: 2, mlp_hidden: 32, context: 6400, conv_dim: 8,
                    conv_position_kernel: 4, conv_position_groups: 4, norm_eps: 1.0e-5}
            objective:
              kind: wav2vec2
              wav2vec2: {span_length: 4, num_negatives: 5, codebook_entries: 8, codevector_dim: 8, proj_dim: 8, temperature_decay: 0.99}
            data: {waveforms: \(waveforms.path)}
            optim: {lr: 3.0e-3, batch_size: 4, grad_accum: 1}
            schedule: {kind: cosine, warmup: 2}
            train: {steps: \(steps), eval_every: 6, eval_batches: 1, log_every: 1, checkpoint_every: 6, keep_last: 2, seed: 3}
            """)
    }

    func testLossFallsAndCheckpointLoadsAsAWaveformEncoder() throws {
        let root = try makeTemporaryDirectory()
        let recipe = try Self.recipe(try Self.waveforms(root))
        let corpus = try TrainingCorpus.load(recipe.data)
        XCTAssertEqual(corpus.waveforms?.train.count, 6)
        XCTAssertEqual(corpus.waveforms?.val.count, 2)
        let run = root.appendingPathComponent("run")
        let summary = try Trainer(recipe: recipe, runDirectory: run, corpus: corpus, console: ConsoleProgress(mode: .silent)).run()
        XCTAssertTrue(summary.finished)

        let rows = try readMetrics(run.appendingPathComponent("metrics.jsonl")).filter { $0.loss != nil }
        let losses = rows.compactMap(\.loss)
        XCTAssertEqual(losses.count, 12)
        XCTAssertTrue(losses.allSatisfy(\.isFinite), "\(losses)")
        XCTAssertLessThan(losses.suffix(3).reduce(0, +), losses.prefix(3).reduce(0, +), "the loss falls: \(losses)")
        let usage = try XCTUnwrap(rows.last?.objectiveMetrics["codebook_usage"])
        XCTAssertTrue(usage > 0 && usage <= 1, "codebook usage is a fraction of G·V: \(usage)")
        XCTAssertEqual(rows.last?.objectiveMetrics["gumbel_temperature"] ?? 0, 2 * pow(0.99, 11), accuracy: 1e-5,
                       "the temperature of the 12th update (step 11)")

        let checkpoint = try XCTUnwrap(summary.checkpoint)
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("waveform.json").path))
        XCTAssertTrue(try isWaveformCheckpoint(run))
        let loaded = try loadWaveformEncoder(run)
        let states = try loaded.timeStates((0..<8_000).map { sin(Float($0) / 7) })
        XCTAssertEqual(states.count, 2, "the Transformer's input and its one layer")
        XCTAssertEqual(states[0].shape, [24, 16], "0.5 s: 24 frames of 20 ms")
        XCTAssertTrue(states[1].scalars.allSatisfy(\.isFinite))
        XCTAssertFalse(loaded.encoder.parameters.contains { $0.requiresGrad }, "frozen for probes")
        XCTAssertThrowsError(try loadAudioEncoder(run)) {
            XCTAssertTrue("\($0)".contains("pretrain probe and finetune take it"), "\($0)")
            XCTAssertFalse("\($0)".contains("loadWaveformEncoder"), "a user types commands, not Swift functions: \($0)")
        }
        XCTAssertThrowsError(try loaded.timeStates([Float](repeating: 0, count: 300))) {
            XCTAssertTrue("\($0)".contains("300 samples"), "\($0)")
        }
    }

    func testRunResumesExactly() throws {
        let root = try makeTemporaryDirectory()
        let recipe = try Self.recipe(try Self.waveforms(root), steps: 6)
        let corpus = try TrainingCorpus.load(recipe.data)
        let straightDirectory = root.appendingPathComponent("straight")
        let straight = try Trainer(recipe: recipe, runDirectory: straightDirectory, corpus: corpus, console: ConsoleProgress(mode: .silent))
        XCTAssertTrue(try straight.run().finished)
        let interrupted = root.appendingPathComponent("interrupted")
        try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus, console: ConsoleProgress(mode: .silent)).run(stopAfter: 3)
        let resumed = try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus, start: .resume,
                                  console: ConsoleProgress(mode: .silent))
        XCTAssertEqual(resumed.state.step, 3)
        XCTAssertTrue(try resumed.run().finished)
        assertSameCurves(try readMetrics(interrupted.appendingPathComponent("metrics.jsonl")),
                         try readMetrics(straightDirectory.appendingPathComponent("metrics.jsonl")))
        for ((name, a), (_, b)) in zip(resumed.model.namedParameters(), straight.model.namedParameters()) {
            XCTAssertEqual(a.scalars, b.scalars, "final \(name) differs")
        }
    }

    func testRecipesThatCannotRunAreRejected() {
        let cases: [(String, String)] = [
            ("model: {flavor: audio_waveform}\nobjective: {kind: wav2vec2}", "data.waveforms"),
            ("model: {flavor: audio_patches}\nobjective: {kind: wav2vec2}\ndata: {features: f}", "wav2vec2 needs audio_waveform or audio_frames"),
            ("model: {flavor: audio_waveform}\nobjective: {kind: bestrq}\ndata: {waveforms: w}", "bestrq needs audio_frames or audio_patches"),
            ("model: {flavor: audio_waveform, feature_norm: batch}\nobjective: {kind: wav2vec2}\ndata: {waveforms: w}",
             "model.feature_norm must be one of group, layer, got 'batch'"),
            ("model: {flavor: audio_waveform, context: 500}\nobjective: {kind: wav2vec2}\ndata: {waveforms: w}", "at least two 20 ms frames"),
            ("model: {flavor: audio_waveform, frame_stack: 2}\nobjective: {kind: wav2vec2}\ndata: {waveforms: w}", "model.frame_stack does not apply"),
            ("model: {flavor: audio_waveform}\nobjective: {kind: wav2vec2, wav2vec2: {codebook_groups: 3}}\ndata: {waveforms: w}",
             "codevector_dim (256) must be a positive multiple of codebook_groups (3)"),
            ("model: {flavor: audio_waveform}\nobjective: {kind: wav2vec2, wav2vec2: {num_negative: 3}}\ndata: {waveforms: w}",
             "unknown key 'objective.wav2vec2.num_negative'"),
            ("model: {flavor: audio_waveform}\nobjective: {kind: wav2vec2, wav2vec2: {num_negatives: 0}}\ndata: {waveforms: w}",
             "num_negatives (0) and cross_sample_negatives (0) must be ≥ 0, one of them ≥ 1"),
            ("model: {flavor: audio_frames, conv_dim: 64}\nobjective: {kind: tera}\ndata: {features: f}",
             "model.conv_dim does not apply to model.flavor audio_frames (it applies to audio_waveform)"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try Recipe.parse(yaml)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(yaml)\n→ \(error)")
            }
        }
    }

    func testAudioWaveformOnAFeatureCorpusIsAnError() throws {
        let root = try makeTemporaryDirectory()
        let features = try AudioTrainingTests.featureCorpus(root)
        var recipe = try Self.recipe(try Self.waveforms(root))
        recipe.data.waveforms = nil
        recipe.data.features = features.path
        XCTAssertThrowsError(try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("run"),
                                         corpus: try TrainingCorpus.load(recipe.data), console: ConsoleProgress(mode: .silent))) {
            XCTAssertTrue("\($0)".contains("audio_waveform trains on waveforms (data.waveforms)"), "\($0)")
        }
    }

    func testTheCommittedRecipeParses() throws {
        let recipe = try Recipe.load(repositoryRoot.appendingPathComponent("recipes/wav2vec2-small.yaml"))
        XCTAssertEqual([recipe.model.flavor.rawValue, recipe.objective.kind.rawValue], ["audio_waveform", "wav2vec2"])
        let config = try XCTUnwrap(recipe.objective.wav2vec2).config
        XCTAssertEqual([config.negatives, config.crossSampleNegatives, config.codebookEntries], [100, 0, 32])
        XCTAssertEqual(config.diversityWeight, 0.01)
    }
}
