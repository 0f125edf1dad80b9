import AudioData
import Foundation
import Layers
import Objectives
import Tensors
import TestSupport
import Training
import XCTest

/// BEST-RQ and HuBERT through the shared trainer: runs resume exactly, checkpoints carry the frozen targets so a
/// loaded model labels exactly as the trained one, HuBERT's second iteration clusters a layer of the first, and
/// recipes that cannot run are rejected with the reason.
final class MaskedPredictionTrainingTests: XCTestCase {
    static func recipe(_ kind: String, patches: Bool = false, features: URL, section: String = "{}", steps: Int = 6) throws -> Recipe {
        let model = patches
            ? "{flavor: audio_patches, layers: 1, d_model: 16, heads: 2, context: 24, patch_frequency: 8, patch_time: 4}"
            : "{flavor: audio_frames, layers: 1, d_model: 16, heads: 2, context: 24, frame_stack: 2, positions: convolutional, conv_position_kernel: 4, conv_position_groups: 4}"
        return try Recipe.parse("""
            model: \(model)
            objective: {kind: \(kind), \(kind): \(section)}
            data: {features: \(features.path)}
            optim: {lr: 3.0e-3, batch_size: 3, grad_accum: 2}
            schedule: {kind: cosine, warmup: 2}
            train: {steps: \(steps), eval_every: 3, eval_batches: 1, log_every: 1, checkpoint_every: 3, keep_last: 2, seed: 11}
            """)
    }

    /// Centroids of the train split's cepstra (k = 8), as `pretrain kmeans` writes them.
    static func cepstralCentroids(_ features: URL, to url: URL, teacher: AudioEncoder? = nil, layer: Int = 1) throws {
        let corpus = try FeatureCorpus.load(features)
        let clustered: ClusteredFeatures = teacher.map { .layer($0, index: layer) } ?? .cepstra(count: 6)
        let points = KMeansCentroids.vectors(corpus.train, dimension: corpus.dimension, features: clustered,
                                             window: 24, limit: 500, seed: 0)
        var config = KMeansConfig(k: 8)
        config.iterations = 20
        try KMeansCentroids.write(MiniBatchKMeans.fit(points, config: config), to: url,
                                  metadata: KMeansCentroids.metadata(clustered, teacher: "teacher"))
    }

    func train(_ recipe: Recipe, _ directory: URL, stopAfter: Int? = nil, resume: Bool = false) throws -> Trainer {
        let trainer = try Trainer(recipe: recipe, runDirectory: directory, corpus: try TrainingCorpus.load(recipe.data),
                                  start: resume ? .resume : .fresh, console: ConsoleProgress(mode: .silent))
        if let stopAfter { try trainer.run(stopAfter: stopAfter) } else { XCTAssertTrue(try trainer.run().finished) }
        return trainer
    }

    func maskedPrediction(_ trainer: Trainer) -> MaskedPrediction? {
        trainer.objective as? MaskedPrediction
    }

    func testBESTRQAndHuBERTRunsResumeExactly() throws {
        let root = try makeTemporaryDirectory()
        let features = try AudioTrainingTests.featureCorpus(root)
        let centroids = root.appendingPathComponent("c.safetensors")
        try Self.cepstralCentroids(features, to: centroids)
        let cases = [("bestrq-frames", try Self.recipe("bestrq", features: features, section: "{codebook_size: 32, code_dim: 4}")),
                     ("bestrq-patches", try Self.recipe("bestrq", patches: true, features: features, section: "{codebook_size: 32, mask_ratio: 0.75}")),
                     ("hubert", try Self.recipe("hubert", features: features, section: "{centroids: \(centroids.path), span_length: 3}"))]
        for (name, recipe) in cases {
            let straightDirectory = root.appendingPathComponent("\(name)-straight")
            let straight = try train(recipe, straightDirectory)
            let interrupted = root.appendingPathComponent("\(name)-interrupted")
            _ = try train(recipe, interrupted, stopAfter: 3)
            let resumed = try train(recipe, interrupted, resume: true)
            let expected = try readMetrics(straightDirectory.appendingPathComponent("metrics.jsonl"))
            XCTAssertEqual(expected.map(\.step), Array(1...6))
            XCTAssertTrue(expected.allSatisfy { $0.loss.map(\.isFinite) ?? false }, "\(name): finite losses")
            XCTAssertNotNil(expected.last?.valLoss, "\(name): validation at the end")
            assertSameCurves(try readMetrics(interrupted.appendingPathComponent("metrics.jsonl")), expected)
            for ((key, a), (_, b)) in zip(resumed.model.namedParameters(), straight.model.namedParameters()) {
                XCTAssertEqual(a.scalars, b.scalars, "\(name): final \(key) differs")
            }
        }
    }

    /// The quantiser is frozen and stored: after training, the checkpoint's model labels a batch exactly as a
    /// quantiser drawn afresh from the recipe's seed does; the loaded HuBERT encoder needs no centroid file.
    func testCheckpointedTargetsAreTheSeedsAndLoadWithoutTheirFiles() throws {
        let root = try makeTemporaryDirectory()
        let features = try AudioTrainingTests.featureCorpus(root)
        let recipe = try Self.recipe("bestrq", features: features, section: "{codebook_size: 32, code_dim: 4, seed: 5}", steps: 3)
        let run = root.appendingPathComponent("bestrq")
        let trained = try train(recipe, run)
        let corpus = try FeatureCorpus.load(features)
        let utterance = corpus.train[0]
        let batch = FeatureBatch(features: Tensor(Array(utterance.values[0..<(24 * 16)]), shape: [1, 24, 16]), lengths: [24])

        let objective = try XCTUnwrap(maskedPrediction(trained))
        let fresh = RandomProjectionQuantizer(inputDimension: 32, codeDimension: 4, codebookSize: 32, seed: 5)
        let labels = objective.predictionModel.tokenizer.labels(batch, for: objective.encoder)
        XCTAssertEqual(labels, fresh.labels(batch, for: objective.encoder), "re-derived from the seed")
        let stored = try loadSafetensors(try Checkpoint.resolve(run).appendingPathComponent(Checkpoint.modelFile))
        XCTAssertEqual(stored["tokenizer.codebook"]?.scalars, fresh.codebook.scalars, "the checkpoint stores the codebook")
        XCTAssertEqual(stored["tokenizer.projection"]?.scalars, fresh.projection.scalars, "and the projection")
        var generator = RandomGenerator(seed: 99)
        let config = try CheckpointConfig.read(try Checkpoint.resolve(run).appendingPathComponent(Checkpoint.configFile))
        let reloaded = try XCTUnwrap(try makeModelAndObjective(model: config.model, objective: config.objective,
                                                               context: ObjectiveContext(model: config.model),
                                                               generator: &generator) as? MaskedPrediction)
        try reloaded.model.load(contentsOf: try Checkpoint.resolve(run).appendingPathComponent(Checkpoint.modelFile))
        XCTAssertEqual(reloaded.predictionModel.tokenizer.labels(batch, for: reloaded.encoder), labels, "loaded from the checkpoint")

        let centroids = root.appendingPathComponent("c.safetensors")
        try Self.cepstralCentroids(features, to: centroids)
        let hubert = root.appendingPathComponent("hubert")
        _ = try train(try Self.recipe("hubert", features: features, section: "{centroids: \(centroids.path)}", steps: 1), hubert)
        try FileManager.default.removeItem(at: centroids)
        XCTAssertEqual(try loadAudioEncoder(hubert).encoder.config.hiddenSize, 16)
    }

    /// Iteration 2: centroids of layer 1 of the first model label the second model's positions.
    func testHuBERTSecondIterationClustersALayerOfTheFirst() throws {
        let root = try makeTemporaryDirectory()
        let features = try AudioTrainingTests.featureCorpus(root)
        let first = root.appendingPathComponent("iteration1")
        _ = try train(try Self.recipe("bestrq", features: features, section: "{codebook_size: 32}", steps: 1), first)
        let teacher = try loadAudioEncoder(first).encoder
        let centroids = root.appendingPathComponent("layer1.safetensors")
        try Self.cepstralCentroids(features, to: centroids, teacher: teacher)
        let second = try Self.recipe("hubert", features: features,
                                     section: "{centroids: \(centroids.path), teacher: \(first.path), layer: 1}", steps: 2)
        let trainer = try train(second, root.appendingPathComponent("iteration2"))
        let objective = try XCTUnwrap(maskedPrediction(trainer))
        let tokenizer = try XCTUnwrap(objective.predictionModel.tokenizer as? KMeansTokenizer)
        guard case .layer(_, let index)? = tokenizer.features else { return XCTFail("layer features expected") }
        XCTAssertEqual(index, 1)

        let wrongLayer = try Self.recipe("hubert", features: features,
                                         section: "{centroids: \(centroids.path), teacher: \(first.path), layer: 0}")
        XCTAssertThrowsError(try train(wrongLayer, root.appendingPathComponent("wrong"))) {
            XCTAssertTrue("\($0)".contains("layer 1 of teacher") && "\($0)".contains("names layer 0"), "\($0)")
        }
    }

    func testRecipesThatCannotRunAreRejected() {
        let frames = "model: {flavor: audio_frames}\ndata: {features: f}\n"
        let patches = "model: {flavor: audio_patches, feature_dim: 32}\ndata: {features: f}\n"
        let cases: [(String, String)] = [
            (frames + "objective: {kind: hubert}", "objective.hubert.centroids is required"),
            (frames + "objective: {kind: bestrq, bestrq: {mask_ratio: 0.5}}", "mask_ratio applies to audio_patches"),
            (patches + "objective: {kind: bestrq, bestrq: {span_length: 4}}", "span_length apply to audio_frames"),
            (frames + "objective: {kind: tera, bestrq: {}}", "objective.bestrq applies to objective.kind bestrq only"),
            (frames + "objective: {kind: hubert, hubert: {centroids: c, teacher: t}}", "teacher and layer go together"),
            (patches + "objective: {kind: hubert, hubert: {centroids: c}}", "label audio_frames positions only"),
            (frames + "objective: {kind: bestrq, bestrq: {codebook_size: 1}}", "codebook_size must be ≥ 2"),
            (frames + "objective: {kind: bestrq, bestrq: {mask_prob: 0}}", "mask_prob must be in (0, 10]"),
            (frames + "objective: {kind: bestrq, bestrq: {codebook: 3}}", "unknown key 'objective.bestrq.codebook'"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try Recipe.parse(yaml)) { XCTAssertTrue("\($0)".contains(expected), "\(yaml)\n→ \($0)") }
        }
    }

    func testCommittedRecipesParse() throws {
        let recipes = repositoryRoot.appendingPathComponent("recipes")
        let bestrq = try Recipe.load(recipes.appendingPathComponent("bestrq-small.yaml"))
        XCTAssertEqual([bestrq.model.flavor.rawValue, bestrq.objective.kind.rawValue], ["audio_frames", "bestrq"])
        let hubert = try Recipe.load(recipes.appendingPathComponent("hubert-small.yaml"))
        XCTAssertEqual(hubert.objective.hubert?.centroids, "data/kmeans-mfcc100.safetensors")
    }
}
