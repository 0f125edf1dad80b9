import AudioData
import Foundation
import Layers
import Objectives
import Tensors
import TestSupport
import Training
import XCTest

/// Audio pre-training through the shared trainer: TERA and SSAST runs resume exactly, checkpoints carry the
/// corpus' statistics and feature options, the encoder loads for probes, and recipes that cannot run are
/// rejected with the reason.
final class AudioTrainingTests: XCTestCase {
    /// A feature corpus of 16-bin fbanks from eight 0.4 s tone-plus-noise files (two in val by the manifest), in
    /// ROOT/`name`. `manifestFields(i)` adds fields to file i's manifest line (", \"gender\": \"male\""); nil writes no
    /// manifest (the split is then a hash of the name).
    static func featureCorpus(_ root: URL, name: String = "features",
                              manifestFields: ((Int) -> String)? = { _ in "" }) throws -> URL {
        let input = root.appendingPathComponent(name + "-audio")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        var generator = RandomGenerator(seed: 5)
        var manifest: [String] = []
        for index in 0..<8 {
            let pitch = Float(150 + 90 * index)
            let samples = (0..<6_400).map { 0.3 * sin(2 * Float.pi * pitch * Float($0) / 16_000) + 0.02 * generator.nextNormal() }
            try writeWAV(samples, to: input.appendingPathComponent("u\(index).wav"))
            manifest.append("{\"path\": \"u\(index).wav\", \"split\": \"\(index < 6 ? "train" : "val")\"\(manifestFields?(index) ?? "")}")
        }
        if manifestFields != nil {
            try manifest.joined(separator: "\n").write(to: input.appendingPathComponent("manifest.jsonl"), atomically: true, encoding: .utf8)
        }
        var options = FeatureCorpusPreparation.Options()
        options.fbank.numMelBins = 16
        let out = root.appendingPathComponent(name)
        try FeatureCorpusPreparation.prepare(input: input, output: out, options: options)
        return out
    }

    static func recipe(_ kind: ObjectiveSection.Kind, features: URL, steps: Int = 6) throws -> Recipe {
        let model = kind == .tera
            ? "{flavor: audio_frames, layers: 1, d_model: 16, heads: 2, context: 24, frame_stack: 2, positions: convolutional, conv_position_kernel: 4, conv_position_groups: 4}"
            : "{flavor: audio_patches, layers: 1, d_model: 16, heads: 2, context: 24, patch_frequency: 8, patch_time: 4}"
        return try Recipe.parse("""
            model: \(model)
            objective: {kind: \(kind.rawValue)}
            data: {features: \(features.path)}
            optim: {lr: 3.0e-3, batch_size: 3, grad_accum: 2}
            schedule: {kind: cosine, warmup: 2}
            train: {steps: \(steps), eval_every: 3, eval_batches: 1, log_every: 1, checkpoint_every: 3, keep_last: 2, seed: 11}
            """)
    }

    func testTERAAndSSASTRunsResumeExactly() throws {
        let root = try makeTemporaryDirectory()
        let features = try Self.featureCorpus(root)
        for kind in [ObjectiveSection.Kind.tera, .ssast] {
            let recipe = try Self.recipe(kind, features: features)
            let corpus = try TrainingCorpus.load(recipe.data)
            let straightDirectory = root.appendingPathComponent("\(kind.rawValue)-straight")
            let straight = try Trainer(recipe: recipe, runDirectory: straightDirectory, corpus: corpus,
                                       console: ConsoleProgress(mode: .silent))
            XCTAssertTrue(try straight.run().finished)
            let interrupted = root.appendingPathComponent("\(kind.rawValue)-interrupted")
            try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus, console: ConsoleProgress(mode: .silent))
                .run(stopAfter: 3)
            let resumed = try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus, start: .resume,
                                      console: ConsoleProgress(mode: .silent))
            XCTAssertEqual(resumed.state.step, 3)
            XCTAssertTrue(try resumed.run().finished)

            let expected = try readMetrics(straightDirectory.appendingPathComponent("metrics.jsonl"))
            XCTAssertEqual(expected.map(\.step), Array(1...6))
            XCTAssertTrue(expected.allSatisfy { $0.loss.map(\.isFinite) ?? false }, "\(kind): finite losses")
            XCTAssertNotNil(expected.last?.valLoss, "\(kind): validation at the end")
            assertSameCurves(try readMetrics(interrupted.appendingPathComponent("metrics.jsonl")), expected)
            for ((name, a), (_, b)) in zip(resumed.model.namedParameters(), straight.model.namedParameters()) {
                XCTAssertEqual(a.scalars, b.scalars, "\(kind): final \(name) differs")
            }
        }
    }

    func testCheckpointCarriesStatisticsAndLoadsAsAnEncoderOfEveryLayer() throws {
        let root = try makeTemporaryDirectory()
        let features = try Self.featureCorpus(root)
        let recipe = try Self.recipe(.ssast, features: features, steps: 1)
        let corpus = try TrainingCorpus.load(recipe.data)
        let run = root.appendingPathComponent("run")
        try Trainer(recipe: recipe, runDirectory: run, corpus: corpus, console: ConsoleProgress(mode: .silent)).run()

        let loaded = try loadAudioEncoder(run)
        XCTAssertEqual(loaded.normalization, corpus.features!.normalization, "the corpus' statistics, not constants")
        XCTAssertEqual(loaded.featureOptions.numMelBins, 16)
        let fbank = try FbankComputer(options: loaded.featureOptions)
        let matrices = [fbank.compute((0..<4_000).map { sin(Float($0) / 9) }), fbank.compute((0..<2_400).map { sin(Float($0) / 5) })]
        let output = try loaded.hiddenStates(matrices)
        XCTAssertEqual(output.hiddenStates.count, 2, "embedding output + 1 layer")
        XCTAssertEqual(output.lastHiddenState.shape, [2, 2 * (matrices[0].frameCount / 4), 16])
        // Along time for probes: the 2 frequency rows of each 4-frame column averaged.
        let steps = try loaded.timeStates(matrices[0])
        XCTAssertEqual(steps.map(\.shape), [[5, 16], [5, 16]])
        let last = output.lastHiddenState.scalars
        XCTAssertEqual(steps[1].scalars[0], (last[0] + last[16]) / 2, accuracy: 1e-5)
        XCTAssertThrowsError(try loadCheckpoint(run)) {
            XCTAssertTrue("\($0)".contains("not a text model; use it with pretrain probe, finetune or kmeans"), "\($0)")
            XCTAssertFalse("\($0)".contains("loadAudioEncoder"), "a user types commands, not Swift functions: \($0)")
        }
        // The random-init baseline: the init seed alone decides the fresh weights.
        func randomWeights(_ seed: UInt64) throws -> [Float] {
            try loadAudioEncoder(run, randomWeights: true, seed: seed).encoder.namedParameters().flatMap { $0.tensor.scalars }
        }
        XCTAssertEqual(try randomWeights(1), try randomWeights(1))
        XCTAssertNotEqual(try randomWeights(1), try randomWeights(0))
        XCTAssertNotEqual(try randomWeights(0), loaded.encoder.namedParameters().flatMap { $0.tensor.scalars })
    }

    func testFeatureDimensionOfAnotherCorpusIsAnErrorNamingBoth() throws {
        let root = try makeTemporaryDirectory()
        let features = try Self.featureCorpus(root)
        var recipe = try Self.recipe(.tera, features: features)
        recipe.model.featureDim = 80
        XCTAssertThrowsError(try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("run"),
                                         corpus: try TrainingCorpus.load(recipe.data), console: ConsoleProgress(mode: .silent))) {
            XCTAssertTrue("\($0)".contains("feature_dim is 80") && "\($0)".contains("16 bins"), "\($0)")
        }
    }

    func testMissingStatisticsIsAnError() throws {
        let root = try makeTemporaryDirectory()
        let features = try Self.featureCorpus(root)
        try FileManager.default.removeItem(at: features.appendingPathComponent("normalization.safetensors"))
        XCTAssertThrowsError(try TrainingCorpus.load(try Self.recipe(.tera, features: features).data)) {
            XCTAssertTrue("\($0)".contains("data.features") && "\($0)".contains("normalization.safetensors"), "\($0)")
        }
    }

    func testRecipesThatCannotRunAreRejected() {
        let cases: [(String, String)] = [
            ("model: {flavor: audio_frames}\nobjective: {kind: ssast}\ndata: {features: f}", "ssast needs audio_patches"),
            ("model: {flavor: audio_frames}\nobjective: {kind: tera}", "data.features"),
            ("model: {flavor: gpt2, frame_stack: 2}", "model.frame_stack does not apply to model.flavor gpt2 (it applies to audio_frames)"),
            ("model: {flavor: audio_frames, context: 25, frame_stack: 2}\nobjective: {kind: tera}\ndata: {features: f}",
             "must be ≥ 1 and divide model.context"),
            ("model: {flavor: audio_patches, feature_dim: 80, patch_frequency: 16, frame_stack: 2}\nobjective: {kind: ssast}\ndata: {features: f}",
             "model.frame_stack does not apply to model.flavor audio_patches (it applies to audio_frames)"),
            ("model: {flavor: audio_patches, feature_dim: 20}\nobjective: {kind: ssast, ssast: {mask_ratio: 1.5}}\ndata: {features: f}",
             "mask_ratio must be in (0, 1)"),
            ("model: {flavor: audio_frames}\nobjective: {kind: tera, tera: {span_lenght: 3}}\ndata: {features: f}",
             "unknown key 'objective.tera.span_lenght'"),
            ("model: {flavor: audio_frames}\nobjective: {kind: position_prediction}\ndata: {features: f}",
             "objective position_prediction needs model.positions: none"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try Recipe.parse(yaml)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(yaml)\n→ \(error)")
            }
        }
    }

    /// Position prediction trains through the shared trainer on an encoder without positions and resumes exactly.
    func testPositionPredictionTrainsAndResumesExactly() throws {
        let root = try makeTemporaryDirectory()
        let features = try Self.featureCorpus(root)
        let recipe = try Recipe.parse("""
            model: {flavor: audio_frames, layers: 1, d_model: 16, heads: 2, context: 24, frame_stack: 2, positions: none}
            objective: {kind: position_prediction}
            data: {features: \(features.path)}
            optim: {lr: 3.0e-3, batch_size: 3, grad_accum: 1}
            schedule: {kind: cosine, warmup: 2}
            train: {steps: 6, eval_every: 3, eval_batches: 1, log_every: 1, checkpoint_every: 3, keep_last: 2, seed: 11}
            """)
        let corpus = try TrainingCorpus.load(recipe.data)
        let straight = root.appendingPathComponent("straight"), interrupted = root.appendingPathComponent("interrupted")
        let model = try Trainer(recipe: recipe, runDirectory: straight, corpus: corpus, console: ConsoleProgress(mode: .silent))
        XCTAssertTrue(try model.run().finished)
        XCTAssertNil((model.model as? PositionPredictionModel)?.encoder.positionTable, "no position table")
        XCTAssertNoThrow(try loadAudioEncoder(straight), "the encoder loads for probes and fine-tuning")
        try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus, console: ConsoleProgress(mode: .silent)).run(stopAfter: 3)
        let resumed = try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus, start: .resume,
                                  console: ConsoleProgress(mode: .silent))
        XCTAssertTrue(try resumed.run().finished)
        let expected = try readMetrics(straight.appendingPathComponent("metrics.jsonl"))
        XCTAssertTrue(expected.allSatisfy { $0.loss.map(\.isFinite) ?? false })
        XCTAssertNotNil(expected.last?.valLoss)
        assertSameCurves(try readMetrics(interrupted.appendingPathComponent("metrics.jsonl")), expected)
        // 12 positions to tell apart: the first loss is near log 12.
        XCTAssertEqual(Double(expected[0].loss!), log(12), accuracy: 1.0)
    }

    /// Key masking (Zhai et al. 2022): a removed position reaches no other position's state, yet is still a query;
    /// each row keeps at least one key; a masked run resumes exactly; the ratio is checked and refused for bert.
    func testPositionPredictionKeyMaskingHidesTheRemovedPositions() throws {
        var generator = RandomGenerator(seed: 3)
        let config = AudioEncoderConfig(featureDimension: 4, hiddenSize: 8, layers: 2, heads: 2, intermediateSize: 16, maxFrames: 12,
                                        frameStack: 1, positions: AudioEncoderConfig.Positions.none)
        let objective = PositionPrediction(model: PositionPredictionModel(encoder: AudioFrameEncoder(config, generator: &generator),
                                                                          generator: &generator), keyMaskRatio: 0.5)
        let flags = objective.removedKeys(valid: [6, 1], positions: 6, generator: &generator)
        XCTAssertEqual(flags[0..<6].filter { $0 }.count, 3)
        XCTAssertEqual(flags[6..<12].filter { $0 }.count, 0, "a row of one position keeps its key")
        let features = Tensor.normal([1, 6, 4], generator: &generator)
        let removed = Array(flags[0..<6])
        let before = objective.predictionModel(features, lengths: [6], removedKeys: removed)
        let changed = Tensor(features.scalars, shape: [1, 6, 4])
        let hidden = removed.firstIndex(of: true)!
        for j in 0..<4 { changed.data[hidden * 4 + j] += 3 }
        let after = objective.predictionModel(changed, lengths: [6], removedKeys: removed)
        let classes = before.size(2)
        for position in 0..<6 {
            let (a, b) = (before.scalars[(position * classes)..<((position + 1) * classes)], after.scalars[(position * classes)..<((position + 1) * classes)])
            if position == hidden { XCTAssertNotEqual(Array(a), Array(b), "the removed position is still a query") }
            else { XCTAssertEqual(Array(a), Array(b), "position \(position) does not see the removed one") }
        }

        let root = try makeTemporaryDirectory()
        let recipe = try Recipe.parse("""
            model: {flavor: audio_frames, layers: 1, d_model: 16, heads: 2, context: 24, frame_stack: 2, positions: none}
            objective: {kind: position_prediction, position_prediction: {key_mask_ratio: 0.5}}
            data: {features: \(try Self.featureCorpus(root).path)}
            optim: {lr: 3.0e-3, batch_size: 3}
            train: {steps: 6, eval_every: 3, eval_batches: 1, log_every: 1, checkpoint_every: 3, seed: 11}
            """)
        let corpus = try TrainingCorpus.load(recipe.data)
        let completed = root.appendingPathComponent("completed")
        XCTAssertTrue(try Trainer(recipe: recipe, runDirectory: completed, corpus: corpus, console: ConsoleProgress(mode: .silent)).run().finished)
        try assertResumesExactly(recipe, corpus: corpus, root: root, completed: completed, stopAfter: 3)
        for (yaml, message) in [("model: {flavor: audio_frames, positions: none}\nobjective: {kind: position_prediction, position_prediction: {key_mask_ratio: 1}}\ndata: {features: f}",
                                 "key_mask_ratio must be in [0, 1)"),
                                ("model: {flavor: bert}\nobjective: {kind: position_prediction, position_prediction: {key_mask_ratio: 0.5}}",
                                 "key_mask_ratio applies to the frame encoder")] {
            XCTAssertThrowsError(try Recipe.parse(yaml).validate()) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
        }
    }

    func testCommittedAudioRecipesParse() throws {
        let prediction = try Recipe.load(repositoryRoot.appendingPathComponent("recipes/position-prediction-small.yaml"))
        XCTAssertEqual([prediction.objective.kind.rawValue, prediction.model.positions?.rawValue], ["position_prediction", "none"])
        let recipes = repositoryRoot.appendingPathComponent("recipes")
        let tera = try Recipe.load(recipes.appendingPathComponent("tera-small.yaml"))
        XCTAssertEqual([tera.model.flavor.rawValue, tera.objective.kind.rawValue], ["audio_frames", "tera"])
        let ssast = try Recipe.load(recipes.appendingPathComponent("ssast-small.yaml"))
        XCTAssertEqual([ssast.model.flavor.rawValue, ssast.objective.kind.rawValue], ["audio_patches", "ssast"])
        XCTAssertEqual(ssast.objective.ssast?.config.negatives, .clip)
    }
}

/// A mono 16-bit PCM WAV file.
func writeWAV(_ samples: [Float], to url: URL, rate: Int = 16_000) throws {
    var data = Data()
    func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
    data.append(contentsOf: Array("RIFF".utf8)); append(UInt32(36 + 2 * samples.count))
    data.append(contentsOf: Array("WAVEfmt ".utf8)); append(UInt32(16)); append(UInt16(1)); append(UInt16(1))
    append(UInt32(rate)); append(UInt32(2 * rate)); append(UInt16(2)); append(UInt16(16))
    data.append(contentsOf: Array("data".utf8)); append(UInt32(2 * samples.count))
    for sample in samples { append(Int16(max(-32_768, min(32_767, (sample * 32_768).rounded())))) }
    try data.write(to: url)
}
