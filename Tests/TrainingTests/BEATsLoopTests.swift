import Foundation
import Layers
import Objectives
import Tensors
import TestSupport
import Training
import XCTest

/// BEATs' iteration loop through the shared trainer, at CI size: two iterations run to the end and write every
/// stage as a normal run directory; a rerun skips finished stages and resumes an interrupted one exactly; the
/// tokenizer reports its codebook usage; checkpoints of the wrong kind are rejected naming the checkpoint.
final class BEATsLoopTests: XCTestCase {
    static func loopRecipe(_ features: URL, to url: URL) throws {
        try """
            model: {flavor: audio_patches, layers: 1, d_model: 16, heads: 2, context: 24, patch_frequency: 8, patch_time: 4}
            objective: {kind: bestrq, bestrq: {mask_ratio: 0.75, codebook_size: 32, code_dim: 4}}
            beats: {ssl_steps: 4, tokenizer_steps: 4, tokenizer_layers: 1, tokenizer_lr: 3.0e-3, codebook_size: 16,
                    code_dim: 8, decoder_layers: 1, ema_decay: 0.9, normalize_targets: true, mask_ratio: 0.6}
            data: {features: \(features.path)}
            optim: {lr: 3.0e-3, batch_size: 3, grad_accum: 1}
            schedule: {kind: cosine, warmup: 1}
            train: {steps: 100, eval_every: 2, eval_batches: 1, log_every: 1, checkpoint_every: 2, keep_last: 3, seed: 3}
            """.write(to: url, atomically: true, encoding: .utf8)
    }

    func testTwoIterationsRunToTheEndAndARerunResumesTheInterruptedStage() throws {
        let root = try makeTemporaryDirectory()
        let features = try AudioTrainingTests.featureCorpus(root)
        let recipe = root.appendingPathComponent("beats.yaml")
        try Self.loopRecipe(features, to: recipe)
        let runs = root.appendingPathComponent("runs")
        let loop = try BEATsLoop.load(recipe, root: runs)
        var log: [String] = []
        let stages = try loop.run(iterations: 2, console: ConsoleProgress(mode: .silent), log: { log.append($0) })
        XCTAssertEqual(stages.map(\.name), ["iter1/ssl", "iter2/tokenizer", "iter2/ssl"])
        XCTAssertEqual(stages.map { $0.recipe.objective.kind }, [.bestrq, .beatsTokenizer, .beats])
        for stage in stages {
            XCTAssertEqual(stage.progress, .finished, stage.name)
            let newest = stage.directory.appendingPathComponent("checkpoints/step_000004")
            XCTAssertTrue(Checkpoint.isComplete(newest), "\(stage.name): its last checkpoint")
            XCTAssertTrue(FileManager.default.fileExists(atPath: stage.directory.appendingPathComponent("recipe.yaml").path))
        }

        // The tokenizer distils iteration 1 and reports its codebook usage at every evaluation.
        let tokenizerRun = runs.appendingPathComponent("iter2/tokenizer")
        XCTAssertEqual(try Recipe.load(tokenizerRun.appendingPathComponent("recipe.yaml")).objective.beatsTokenizer?.teacher,
                       runs.appendingPathComponent("iter1/ssl").path)
        let metrics = try readMetrics(tokenizerRun.appendingPathComponent("metrics.jsonl")).filter(\.isEvaluation)
        XCTAssertEqual(metrics.map(\.step), [2, 4])
        for record in metrics {
            let perplexity = try XCTUnwrap(record.objectiveMetrics["codebook_perplexity"])
            let used = try XCTUnwrap(record.objectiveMetrics["codebook_used"])
            XCTAssertTrue(perplexity >= 1 && perplexity <= used + 1e-9 && used >= 1 && used <= 16, "\(perplexity), \(used)")
            XCTAssertTrue(record.valLoss.map { $0.isFinite && $0 >= -1 && $0 <= 5 } ?? false, "−cosine + commitment")
        }

        // SSL model 2 learns the tokenizer's labels: its checkpoint carries the tokenizer, which labels as the
        // tokenizer checkpoint does; both load as encoders for probes.
        let tokenizer = try loadBEATsTokenizer(tokenizerRun)
        let ssl2 = try loadAudioEncoder(runs.appendingPathComponent("iter2/ssl"))
        XCTAssertTrue(ssl2.encoder is AudioPatchEncoder)
        XCTAssertEqual(try loadAudioEncoder(tokenizerRun).encoder.config.layers, 1)
        let sslRun = runs.appendingPathComponent("iter2/ssl")
        let finalWeights: [(name: String, scalars: [Float])]
        do {  // a trainer locks its run directory until released: this one, never run, ends with this scope
            let trained = try Trainer(recipe: try Recipe.load(sslRun.appendingPathComponent("recipe.yaml")), runDirectory: sslRun,
                                      corpus: try TrainingCorpus.load(stages[2].recipe.data), start: .resume,
                                      console: ConsoleProgress(mode: .silent))
            guard let prediction = trained.objective as? MaskedPrediction else {
                return XCTFail("iteration 2's SSL model is a masked-prediction model")
            }
            var generator = RandomGenerator(seed: 4)
            let batch = FeatureBatch(features: Tensor.normal([2, 24, 16], generator: &generator), lengths: [24, 13])
            XCTAssertEqual(prediction.predictionModel.tokenizer.labels(batch, for: prediction.encoder),
                           tokenizer.labels(batch, for: prediction.encoder))
            finalWeights = trained.model.namedParameters().map { ($0.name, $0.tensor.scalars) }
        }

        // Interrupt the last stage (its last checkpoint incomplete): a rerun skips the finished stages and resumes
        // it from step 2, ending with the same weights.
        try FileManager.default.removeItem(at: sslRun.appendingPathComponent("checkpoints/step_000004/COMPLETE"))
        XCTAssertEqual(stages[2].progress, .interrupted(step: 2))
        log = []
        try loop.run(iterations: 2, console: ConsoleProgress(mode: .silent), log: { log.append($0) })
        XCTAssertEqual(log.count, 3)
        XCTAssertTrue(log[0].hasPrefix("iter1/ssl: finished") && log[1].hasPrefix("iter2/tokenizer: finished"), "\(log)")
        XCTAssertTrue(log[2].hasPrefix("iter2/ssl: resuming at step 2"), log[2])
        let resumed = try loadSafetensors(sslRun.appendingPathComponent("checkpoints/step_000004/model.safetensors"))
        for (name, expected) in finalWeights {
            XCTAssertEqual(resumed[name]?.scalars, expected, "\(name) after the resumed stage")
        }

        // Checkpoints of the wrong kind and missing teachers are errors that name them.
        XCTAssertThrowsError(try loadBEATsTokenizer(runs.appendingPathComponent("iter1/ssl"))) {
            XCTAssertTrue("\($0)".contains("not a BEATs tokenizer"), "\($0)")
        }
        var wrongTokenizer = stages[2].recipe
        wrongTokenizer.objective.beats?.tokenizer = runs.appendingPathComponent("iter1/ssl").path
        XCTAssertThrowsError(try Trainer(recipe: wrongTokenizer, runDirectory: root.appendingPathComponent("wrong"),
                                         corpus: try TrainingCorpus.load(wrongTokenizer.data), console: ConsoleProgress(mode: .silent))) {
            XCTAssertTrue("\($0)".contains("iter1/ssl") && "\($0)".contains("beats_tokenizer"), "\($0)")
        }
        var missingTeacher = stages[1].recipe
        missingTeacher.objective.beatsTokenizer?.teacher = root.appendingPathComponent("nowhere").path
        XCTAssertThrowsError(try Trainer(recipe: missingTeacher, runDirectory: root.appendingPathComponent("missing"),
                                         corpus: try TrainingCorpus.load(missingTeacher.data), console: ConsoleProgress(mode: .silent))) {
            XCTAssertTrue("\($0)".contains("nowhere"), "\($0)")
        }
    }

    /// The loop's stages: their run directories, step counts and objectives, with --set reaching either part.
    func testStagesFollowTheRecipeAndOverrides() throws {
        let root = try makeTemporaryDirectory()
        let recipe = root.appendingPathComponent("beats.yaml")
        try Self.loopRecipe(URL(fileURLWithPath: "/features"), to: recipe)
        let loop = try BEATsLoop.load(recipe, root: root.appendingPathComponent("runs"),
                                      overrides: ["beats.ssl_steps=7", "optim.batch_size=5"])
        let stages = loop.stages(iterations: 3)
        XCTAssertEqual(stages.map(\.name), ["iter1/ssl", "iter2/tokenizer", "iter2/ssl", "iter3/tokenizer", "iter3/ssl"])
        XCTAssertEqual(stages.map(\.recipe.train.steps), [7, 4, 7, 4, 7])
        XCTAssertEqual(stages.map(\.recipe.optim.batchSize), [5, 5, 5, 5, 5])
        XCTAssertEqual(stages[3].recipe.objective.beatsTokenizer?.teacher, root.appendingPathComponent("runs/iter2/ssl").path)
        XCTAssertEqual(stages[4].recipe.objective.beats?.tokenizer, root.appendingPathComponent("runs/iter3/tokenizer").path)
        XCTAssertEqual(stages[4].recipe.objective.beats?.maskRatio, 0.6)
        XCTAssertEqual(stages[1].recipe.optim.lr, 3.0e-3)
        XCTAssertEqual(stages[1].recipe.objective.beatsTokenizer?.codebookSize, 16)
        XCTAssertEqual(stages[1].recipe.objective.beatsTokenizer?.normalizeTargets, true)
        XCTAssertEqual(stages.map(\.directory.lastPathComponent), ["ssl", "tokenizer", "ssl", "tokenizer", "ssl"])
        for stage in stages { XCTAssertNoThrow(try stage.recipe.validate(), stage.name) }
    }

    func testRecipesThatCannotRunAreRejected() throws {
        let patches = "model: {flavor: audio_patches, layers: 1, d_model: 16, heads: 2, context: 24, patch_frequency: 8, patch_time: 4}\ndata: {features: f}\n"
        let cases: [(String, String)] = [
            (patches + "objective: {kind: beats_tokenizer}", "objective.beats_tokenizer.teacher is required"),
            (patches + "objective: {kind: beats}", "objective.beats.tokenizer is required"),
            (patches + "objective: {kind: beats, beats: {tokenizer: t, mask_ratio: 1.5}}", "mask_ratio must be in (0, 1)"),
            (patches + "objective: {kind: beats_tokenizer, beats_tokenizer: {teacher: t, ema_decay: 1}}", "ema_decay must be in [0, 1)"),
            (patches + "objective: {kind: beats_tokenizer, beats_tokenizer: {teacher: t, codebok_size: 4}}", "codebok_size"),
            (patches + "objective: {kind: bestrq, beats: {tokenizer: t}}", "objective.beats applies to objective.kind beats only"),
            ("model: {flavor: audio_frames}\ndata: {features: f}\nobjective: {kind: beats, beats: {tokenizer: t}}", "does not fit model.flavor"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try Recipe.parse(yaml)) { XCTAssertTrue("\($0)".contains(expected), "\(expected): \($0)") }
        }
        let root = try makeTemporaryDirectory()
        let loopFile = root.appendingPathComponent("loop.yaml")
        try (patches + "objective: {kind: ssast}").write(to: loopFile, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BEATsLoop.load(loopFile, root: root)) { XCTAssertTrue("\($0)".contains("objective.kind bestrq"), "\($0)") }
        try (patches + "objective: {kind: bestrq}\nbeats: {ssl_step: 3}").write(to: loopFile, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BEATsLoop.load(loopFile, root: root)) { XCTAssertTrue("\($0)".contains("ssl_step"), "\($0)") }
    }
}
