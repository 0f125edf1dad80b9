import AudioData
import Foundation
import Layers
import Objectives
import Tensors
import TestSupport
import Training
import XCTest

/// MERT's pieces and its run through the shared trainer: constant-Q corpora aligned with the fbank's, the residual
/// quantiser, the in-batch mixture, per-frame targets beside the features, and recipes that cannot run.
final class MERTTrainingTests: XCTestCase {
    /// The fbank corpus of AudioTrainingTests (eight tones of 150 + 90·i Hz) and the constant-Q corpus of the same audio.
    static func corpora(_ root: URL) throws -> (fbank: URL, cqt: URL) {
        let fbank = try AudioTrainingTests.featureCorpus(root)
        var options = FeatureCorpusPreparation.Options()
        options.kind = .cqt
        options.constantQBins = 48
        let cqt = root.appendingPathComponent("cqt")
        try FeatureCorpusPreparation.prepare(input: root.appendingPathComponent("features-audio"), output: cqt, options: options)
        return (fbank, cqt)
    }

    static func rvqFile(_ root: URL, fbank: URL, frameStack: Int = 2) throws -> URL {
        var options = RVQTeacher.Options()
        (options.codebooks, options.entries, options.frameStack, options.iterations) = (2, 4, frameStack, 20)
        let url = root.appendingPathComponent("rvq-\(frameStack).safetensors")
        try RVQTeacher.write(try RVQTeacher.fit(corpus: fbank, options: options), to: url)
        return url
    }

    static func recipe(fbank: URL, cqt: URL?, rvq: URL, kind: String = "mert", steps: Int = 10) throws -> Recipe {
        try Recipe.parse("""
            model: {flavor: audio_frames, layers: 1, d_model: 16, heads: 2, context: 24, frame_stack: 2, positions: convolutional,
                    conv_position_kernel: 4, conv_position_groups: 4}
            objective:
              kind: \(kind)
            \(kind == "mert" ? "  mert: {rvq: \(rvq.path), span_length: 3, mix_probability: 0.5\(cqt == nil ? ", cqt_weight: 0" : "")}" : "")
            data: {features: \(fbank.path)\(cqt.map { ", targets: \($0.path)" } ?? "")}
            optim: {lr: 3.0e-3, batch_size: 3, grad_accum: 2}
            schedule: {kind: cosine, warmup: 2}
            train: {steps: \(steps), eval_every: 5, eval_batches: 1, log_every: 1, checkpoint_every: 5, keep_last: 2, seed: 4}
            """)
    }

    /// Every constant-Q frame is centred where its fbank frame's window is, with as many frames; a tone's energy
    /// lands in its semitone's bin (bin 12·log₂(f / 32.7 Hz)).
    func testConstantQCorpusAlignsWithTheFbankCorpus() throws {
        let root = try makeTemporaryDirectory()
        let (fbank, cqt) = try Self.corpora(root)
        let (a, b) = (try FeatureCorpus.load(fbank), try FeatureCorpus.load(cqt))
        XCTAssertEqual(b.info.features, "cqt")
        XCTAssertEqual(b.info.dimension, 48)
        XCTAssertEqual((a.train + a.val).map { [$0.key: $0.frames] }, (b.train + b.val).map { [$0.key: $0.frames] })
        let transform = try ConstantQTransform(sampleRate: 16_000, hop: 160, bins: 48)
        for pitch: Float in [220, 440] {
            let tone = (0..<8_000).map { 0.5 * sin(2 * Float.pi * pitch * Float($0) / 16_000) }
            let frames = FeatureCorpusPreparation.constantQFrames(tone, transform: transform, fbank: FbankOptions())
            XCTAssertEqual(frames.frameCount, FbankOptions().frameCount(sampleCount: tone.count))
            let middle = Array(frames.values[(25 * 48)..<(26 * 48)])
            let peak = middle.indices.max { middle[$0] < middle[$1] }!
            XCTAssertEqual(peak, Int((12 * log2(Double(pitch) / 32.703)).rounded()), "\(pitch) Hz")
        }
    }

    /// Each codebook quantises what the ones before it left: the error falls with every stage, the codes rebuild the
    /// vectors to that error, the file keeps the corpus statistics, and a file that is not one is an error naming it.
    func testResidualQuantizerRefinesStageByStageAndItsFileRoundTrips() throws {
        let root = try makeTemporaryDirectory()
        let (fbank, _) = try Self.corpora(root)
        let url = try Self.rvqFile(root, fbank: fbank)
        let teacher = try RVQTeacher.read(url)
        XCTAssertEqual(teacher.quantizer.codebooks.shape, [2, 4, 32])
        XCTAssertEqual(teacher.frameStack, 2)
        let corpus = try FeatureCorpus.load(fbank)
        XCTAssertEqual(teacher.mean.scalars, corpus.normalization.mean)
        let vectors = Tensor(Array(corpus.train[0].values[0..<(20 * 16)]), shape: [10, 32])
        let (codes, errors) = teacher.quantizer.encode(vectors)
        XCTAssertEqual(errors.count, 2)
        XCTAssertLessThan(errors[1], errors[0])
        var squared = 0.0
        for row in 0..<10 {
            for j in 0..<32 {
                let rebuilt = (0..<2).reduce(Float(0)) { $0 + teacher.quantizer.codebooks.data[($1 * 4 + Int(codes[row * 2 + $1])) * 32 + j] }
                squared += Double((vectors.data[row * 32 + j] - rebuilt) * (vectors.data[row * 32 + j] - rebuilt))
            }
        }
        XCTAssertEqual(squared / 320, errors[1], accuracy: 1e-4)
        let centroids = root.appendingPathComponent("centroids.safetensors")
        try KMeansCentroids.write(Tensor(zeros: [2, 3]), to: centroids, metadata: [:])
        XCTAssertThrowsError(try RVQTeacher.read(centroids)) { XCTAssertTrue("\($0)".contains("not an RVQ teacher"), "\($0)") }
    }

    /// A mixture adds its segment in the power domain (an identical segment at gain 1 adds ln 2 to the log-mel
    /// values, ln 2 / σ after normalisation) and leaves every other frame alone; drawn mixtures stay inside both crops.
    func testInBatchMixtureAddsPowerAndStaysInsideTheCrops() throws {
        var generator = RandomGenerator(seed: 1)
        let encoder = AudioFrameEncoder(AudioEncoderConfig(featureDimension: 2, hiddenSize: 8, layers: 1, heads: 2, maxFrames: 8,
                                                           frameStack: 2), maskEmbedding: true, generator: &generator)
        let model = MERTModel(encoder: encoder, rvq: ResidualVectorQuantizer(codebooks: Tensor(zeros: [1, 2, 4])), cqtBins: 0,
                              mean: Tensor([-3, 1], shape: [2]), std: Tensor([2, 0.5], shape: [2]), generator: &generator)
        var config = MERTConfig()
        config.cqtWeight = 0
        let mert = MERT(model: model, config: config)
        let x = Tensor([0.1, -0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.1, -0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], shape: [2, 4, 2])
        let mixed = mert.mix(x, [InBatchMixture(row: 1, source: 0, start: 0, sourceStart: 0, length: 2, gain: 1)])
        for i in 0..<16 {
            let expected = i >= 8 && i < 12 ? x.data[i] + Float(log(2.0)) / [2, 0.5][i % 2] : x.data[i]
            XCTAssertEqual(mixed.data[i], expected, accuracy: 1e-5, "value \(i)")
        }
        config.mixProbability = 1
        let always = MERT(model: model, config: config)
        for _ in 0..<50 {
            let lengths = [12, 5, 0, 9]
            for m in always.drawMixtures(lengths: lengths, generator: &generator) {
                XCTAssertNotEqual(m.row, m.source)
                XCTAssertNotEqual(lengths[m.source], 0)
                XCTAssertTrue(m.length >= 1 && m.start + m.length <= lengths[m.row] && m.sourceStart + m.length <= lengths[m.source], "\(m)")
                XCTAssertTrue(m.gain > 0.099 && m.gain <= 1)
            }
            XCTAssertEqual(always.drawMixtures(lengths: lengths, generator: &generator).count, 3, "every crop with audio")
        }
        XCTAssertTrue(always.drawMixtures(lengths: [7, 0], generator: &generator).isEmpty, "no other crop to mix in")
    }

    func testLossFallsResumesAndCheckpointLoadsAsAFrameEncoder() throws {
        let root = try makeTemporaryDirectory()
        let (fbank, cqt) = try Self.corpora(root)
        let recipe = try Self.recipe(fbank: fbank, cqt: cqt, rvq: try Self.rvqFile(root, fbank: fbank))
        let corpus = try TrainingCorpus.load(recipe.data)
        XCTAssertEqual(corpus.features?.dimension, 16 + 48, "fbank bins, then the constant-Q bins")
        let run = root.appendingPathComponent("run")
        XCTAssertTrue(try Trainer(recipe: recipe, runDirectory: run, corpus: corpus, console: ConsoleProgress(mode: .silent)).run().finished)
        let rows = try readMetrics(run.appendingPathComponent("metrics.jsonl")).filter { $0.loss != nil }
        let losses = rows.compactMap(\.loss)
        XCTAssertEqual(losses.count, 10)
        XCTAssertLessThan(losses.suffix(3).reduce(0, +), losses.prefix(3).reduce(0, +), "the loss falls: \(losses)")
        XCTAssertNotNil(rows.last?.objectiveMetrics["cqt_loss"])
        XCTAssertGreaterThan(rows.map { $0.objectiveMetrics["mixed_crops"] ?? 0 }.reduce(0, +), 0)

        try assertResumesExactly(recipe, corpus: corpus, root: root, completed: run)

        let loaded = try loadAudioEncoder(run)
        XCTAssertEqual(loaded.encoder.config.featureDimension, 16, "the encoder reads the fbank bins only")
        let states = try loaded.timeStates(FeatureMatrix(frameCount: 20, dimension: 16, values: (0..<320).map { Float($0 % 7) }))
        XCTAssertEqual(states.map(\.shape), [[10, 16], [10, 16]])

        // Without the musical teacher: no data.targets, no CQT head.
        let acoustic = try Self.recipe(fbank: fbank, cqt: nil, rvq: try Self.rvqFile(root, fbank: fbank), steps: 3)
        let plain = root.appendingPathComponent("acoustic")
        XCTAssertTrue(try Trainer(recipe: acoustic, runDirectory: plain, corpus: try TrainingCorpus.load(acoustic.data),
                                  console: ConsoleProgress(mode: .silent)).run().finished)
        XCTAssertNil(try loadAudioEncoder(plain).config.model.targetDim)
    }

    func testSetupsThatCannotRunAreErrorsNamingTheProblem() throws {
        let root = try makeTemporaryDirectory()
        let (fbank, cqt) = try Self.corpora(root)
        let rvq = try Self.rvqFile(root, fbank: fbank)
        func trainingError(_ recipe: Recipe) -> String {
            do {
                _ = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("r\(UUID().uuidString.prefix(6))"),
                                corpus: try TrainingCorpus.load(recipe.data), console: ConsoleProgress(mode: .silent)).run()
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(trainingError(try Self.recipe(fbank: fbank, cqt: cqt, rvq: rvq, kind: "tera")).contains("objective tera reads no per-frame targets"))
        XCTAssertTrue(trainingError(try Self.recipe(fbank: fbank, cqt: cqt, rvq: try Self.rvqFile(root, fbank: fbank, frameStack: 1)))
            .contains("quantises 1 stacked frames"))
        // Targets of other audio: an utterance the features have is missing.
        let other = root.appendingPathComponent("other-audio")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try writeWAV((0..<6_400).map { sin(Float($0) / 9) }, to: other.appendingPathComponent("x.wav"))
        var options = FeatureCorpusPreparation.Options()
        (options.kind, options.constantQBins, options.valFraction) = (.cqt, 12, 0)
        try FeatureCorpusPreparation.prepare(input: other, output: root.appendingPathComponent("other-cqt"), options: options)
        var mismatched = try Self.recipe(fbank: fbank, cqt: cqt, rvq: rvq)
        mismatched.data.targets = root.appendingPathComponent("other-cqt").path
        XCTAssertThrowsError(try TrainingCorpus.load(mismatched.data)) {
            XCTAssertTrue("\($0)".contains("data.targets: \(root.path)/other-cqt: no train utterance 'u0.wav'"), "\($0)")
        }
        let cases: [(String, String)] = [
            ("objective: {kind: mert, mert: {rvq: r}}", "data.targets must name them"),
            ("objective: {kind: mert, mert: {cqt_weight: 0}}", "objective.mert.rvq is required"),
            ("objective: {kind: mert, mert: {rvq: r, cqt_weight: 0, acoustic_weight: 0}}", "not both 0"),
            ("objective: {kind: mert, mert: {rvq: r, cqt_weight: 0, mix_probability: 2}}", "mix_probability must be in [0, 1]"),
        ]
        for (objective, expected) in cases {
            let yaml = "model: {flavor: audio_frames}\n\(objective)\ndata: {features: f}"
            XCTAssertThrowsError(try Recipe.parse(yaml)) { XCTAssertTrue("\($0)".contains(expected), "\(yaml)\n→ \($0)") }
        }
    }

    func testTheCommittedRecipeParses() throws {
        let recipe = try Recipe.load(repositoryRoot.appendingPathComponent("recipes/mert-small.yaml"))
        XCTAssertEqual([recipe.model.flavor.rawValue, recipe.objective.kind.rawValue], ["audio_frames", "mert"])
        XCTAssertEqual(recipe.data.targets, "data/music-cqt")
        XCTAssertEqual(recipe.objective.mert?.config.mixProbability, 0.5)
    }
}
