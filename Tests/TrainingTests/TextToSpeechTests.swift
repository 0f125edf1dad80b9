import AudioData
import Foundation
import Probes
import Tensors
import TestSupport
import Training
import XCTest

/// FastSpeech through the shared trainer on a small espeak-ng corpus (`pretrain data synth-speech --subsets tts`):
/// the run learns, resumes exactly, keeps tts.json in its checkpoints and speaks through `pretrain tts say`; bad
/// recipes and inputs are refused with the key or the file named.
final class TextToSpeechTests: XCTestCase {
    /// 16 train, 3 dev, 2 test utterances of one clean voice, made once and removed after the class's last test.
    nonisolated(unsafe) static var made: URL?
    static var corpus: URL {
        if let made { return made }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tts-corpus-\(getpid())")
        let (status, output) = try! runPretrain(["data", "synth-speech", "--subsets", "tts", "--tts", "16,3,2", "--hours", "0",
                                                 "--out", directory.path, "--text-dir",
                                                 repositoryRoot.appendingPathComponent("data/shakespeare").path])
        precondition(status == 0, output)
        made = directory
        return directory
    }

    override class func tearDown() {
        if let made { try? FileManager.default.removeItem(at: made) }
        made = nil
        super.tearDown()
    }

    static func recipe(steps: Int = 8, extra: String = "") throws -> Recipe {
        try Recipe.parse("""
            model: {flavor: fastspeech, layers: 1, d_model: 16, heads: 2, mlp_hidden: 32, conv_kernel: 3, predictor_hidden: 16,
                    alignment_dim: 8, context: 400, dropout: 0.1\(extra)}
            objective: {kind: fastspeech, fastspeech: {binarization_start: 3}}
            data: {tts: \(corpus.path)}
            optim: {lr: 3.0e-3, batch_size: 3}
            schedule: {kind: cosine, warmup: 2}
            train: {steps: \(steps), eval_every: 4, eval_batches: 1, log_every: 1, checkpoint_every: 4, seed: 7}
            """)
    }

    func testTrainsResumesAndSpeaks() throws {
        let root = try makeTemporaryDirectory()
        let recipe = try Self.recipe()
        let corpus = try TrainingCorpus.load(recipe.data)
        XCTAssertEqual(corpus.speech?.train.count, 16)
        XCTAssertFalse(corpus.speech?.val.isEmpty ?? true, "dev utterances are the val split")
        let completed = root.appendingPathComponent("completed")
        let summary = try Trainer(recipe: recipe, runDirectory: completed, corpus: corpus,
                                  console: ConsoleProgress(mode: .silent)).run()
        XCTAssertTrue(summary.finished)
        let rows = try readMetrics(completed.appendingPathComponent("metrics.jsonl"))
        let losses = rows.compactMap(\.loss)
        XCTAssertLessThan(losses.suffix(2).reduce(0, +), losses.prefix(2).reduce(0, +), "the loss falls")
        XCTAssertNotNil(rows.last { $0.loss != nil }?.objectiveMetrics["binarization_loss"], "binarization is on from step 3")
        XCTAssertNil(rows.first { $0.loss != nil }?.objectiveMetrics["binarization_loss"], "and off before")
        try assertResumesExactly(recipe, corpus: corpus, root: root, completed: completed, stopAfter: 4)

        XCTAssertThrowsError(try loadCheckpoint(completed)) {
            XCTAssertTrue("\($0)".contains("a text-to-speech model (fastspeech), not a text model; use it with pretrain tts say"), "\($0)")
        }
        XCTAssertThrowsError(try loadAudioEncoder(completed)) {
            XCTAssertTrue("\($0)".contains("a text-to-speech model (fastspeech), not an audio encoder"), "\($0)")
        }
        let speaker = try TextToSpeech.load(completed, griffinLimIterations: 4)
        XCTAssertEqual(speaker.info, corpus.speech!.info, "tts.json travels with the checkpoint")
        let phonemes = Array(speaker.info.phonemes.prefix(5))
        let speech = try speaker.say(phonemes: phonemes)
        XCTAssertEqual(speech.durations.count, 5)
        XCTAssertEqual(speech.mel.frameCount, max(speech.durations.reduce(0, +), 6), "at least the 6 frames the vocoder needs")
        XCTAssertEqual(speech.samples.count, (speech.mel.frameCount - 1) * speaker.info.mel.hopLength)
        XCTAssertTrue(speech.samples.allSatisfy(\.isFinite))
        XCTAssertThrowsError(try speaker.say(phonemes: ["not-a-phoneme"])) {
            XCTAssertTrue("\($0)".contains("'not-a-phoneme' is not in the model's inventory"), "\($0)")
        }

        let wav = root.appendingPathComponent("say.wav")
        let (status, output) = try runPretrain(["tts", "say", completed.path, "Good morrow.", "--out", wav.path,
                                                "--griffin-lim-iterations", "2"])
        // A word whose phonemes the 16 train utterances never used is refused, naming the phoneme; else a WAV.
        if status == 0 {
            XCTAssertTrue(output.contains("real-time factor"), output)
            XCTAssertGreaterThan(try Waveform(contentsOf: wav).samples.count, 0)
        } else {
            XCTAssertTrue(output.contains("is not in the model's inventory"), output)
        }
    }

    func testBadRecipesAndCorporaAreNamed() throws {
        for (extra, message) in [(", predictor_kernel: 4", "model.predictor_kernel must be odd"),
                                 (", variances: [loudness]", "model.variances: 'loudness' is not one the TTS corpus supplies"),
                                 (", frame_stack: 2", "model.frame_stack does not apply to model.flavor fastspeech")] {
            XCTAssertThrowsError(try Self.recipe(extra: extra).validate()) {
                XCTAssertTrue("\($0)".contains(message), "\($0)")
            }
        }
        var data = DataSection()
        data.tts = "/nonexistent/tts"
        XCTAssertThrowsError(try TrainingCorpus.load(data)) {
            XCTAssertEqual("\($0)", "data.tts: /nonexistent/tts/manifest.jsonl: cannot read the corpus manifest (make one with pretrain data synth-speech --subsets tts)")
        }
        var short = try Self.recipe(extra: "")
        short.model.context = 5
        XCTAssertThrowsError(try Trainer(recipe: short, runDirectory: try makeTemporaryDirectory(), corpus: try TrainingCorpus.load(short.data),
                                         console: ConsoleProgress(mode: .silent))) {
            XCTAssertTrue("\($0)".contains("no train utterance has at most model.context = 5 frames"), "\($0)")
        }
    }

    /// The judge end to end: a two-step speaker, a recogniser fine-tuned for three updates on the same corpus' audio
    /// (its tts utterances relabelled as the pr subset), two test utterances judged and one played in the report.
    func testTheJudgeScoresAndPlaysTheTestUtterances() throws {
        let root = try makeTemporaryDirectory()
        let recipe = try Self.recipe(steps: 2)
        let corpus = try TrainingCorpus.load(recipe.data)
        let run = root.appendingPathComponent("tts")
        try Trainer(recipe: recipe, runDirectory: run, corpus: corpus, console: ConsoleProgress(mode: .silent)).run()

        let recognizer = try Self.recognizer(root)
        var judge = TextToSpeechJudge()
        (judge.utteranceLimit, judge.samples) = (2, 1)
        let out = root.appendingPathComponent("judge")
        let judgement = try judge.run(speaker: try TextToSpeech.load(run, griffinLimIterations: 2),
                                      recognizer: recognizer,
                                      recognizerName: "ft", corpus: corpus.speech!, out: out)
        XCTAssertEqual(judgement.utterances, 2)
        XCTAssertEqual(judgement.referencePhonemes, corpus.speech!.test.prefix(2).reduce(0) { $0 + $1.phonemeIds.count })
        for per in [judgement.perReal, judgement.perCopySynthesis, judgement.perSynthesized] { XCTAssertTrue(per >= 0 && per.isFinite) }
        XCTAssertGreaterThan(judgement.mcdSynthesized, 0)
        XCTAssertGreaterThan(judgement.realTimeFactor, 0)
        XCTAssertNil(judgement.perResynthesis, "FastSpeech has no units to resynthesise through")
        XCTAssertGreaterThan(judgement.synthesizedEdits.words, 0)
        XCTAssertEqual(judgement.truncated, 0)
        let report = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains(#"src="samples/0-tts.wav""#), report)
        for name in ["judge.json", "samples/0-real.wav", "samples/0-copy.wav", "samples/0-tts.wav"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("samples/1-tts.wav").path))
        XCTAssertThrowsError(try TextToSpeechJudge.recognizer(root.appendingPathComponent("tts"))) {
            XCTAssertTrue("\($0)".hasSuffix("result.json: cannot read a fine-tuning result (the recogniser is an output directory of pretrain finetune): no such file or directory"), "\($0)")
        }
    }

    /// A recogniser fine-tuned for three updates (after one TERA update) on a tts corpus' audio, its tts utterances
    /// relabelled as the pr subset: `pretrain finetune`'s output directory under ROOT/ft.
    static func recognizer(_ root: URL, corpus: URL = corpus) throws -> PhonemeRecognizer {
        let teraRecipe = try AudioTrainingTests.recipe(.tera, features: try AudioTrainingTests.featureCorpus(root), steps: 1)
        try Trainer(recipe: teraRecipe, runDirectory: root.appendingPathComponent("tera"), corpus: try TrainingCorpus.load(teraRecipe.data),
                    console: ConsoleProgress(mode: .silent)).run()
        let relabelled = root.appendingPathComponent("pr")
        try FileManager.default.createDirectory(at: relabelled, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: relabelled.appendingPathComponent("tts"),
                                                   withDestinationURL: corpus.appendingPathComponent("tts"))
        try String(contentsOf: corpus.appendingPathComponent("manifest.jsonl"), encoding: .utf8)
            .replacingOccurrences(of: #""subset":"tts""#, with: #""subset":"pr""#)
            .write(to: relabelled.appendingPathComponent("manifest.jsonl"), atomically: true, encoding: .utf8)
        var fineTuning = CheckpointFineTuning(checkpoint: root.appendingPathComponent("tera"), corpus: relabelled)
        (fineTuning.settings.steps, fineTuning.settings.batchSize, fineTuning.settings.devEvery) = (3, 2, 0)
        fineTuning.out = root.appendingPathComponent("ft")
        _ = try fineTuning.run()

        return try TextToSpeechJudge.recognizer(root.appendingPathComponent("ft"))
    }

    /// Mel-cepstral distortion: 0 against itself and against a time-stretched copy (the warping path absorbs the
    /// repeats), above 0 against another utterance.
    func testMelCepstralDistortionWarpsTime() throws {
        let speech = try TrainingCorpus.load(try Self.recipe().data).speech!
        let (a, b) = (speech.train[0].mel, speech.train[1].mel)
        XCTAssertEqual(TextToSpeechJudge.melCepstralDistortion(a, a), 0)
        var stretched: [Float] = []
        for t in 0..<a.frameCount { for _ in 0..<(t % 3 == 0 ? 2 : 1) { stretched += a.values[(t * a.dimension)..<((t + 1) * a.dimension)] } }
        let slow = FeatureMatrix(frameCount: stretched.count / a.dimension, dimension: a.dimension, values: stretched)
        XCTAssertEqual(TextToSpeechJudge.melCepstralDistortion(slow, a), 0, accuracy: 1e-9)
        XCTAssertGreaterThan(TextToSpeechJudge.melCepstralDistortion(a, b), 1)
        XCTAssertEqual(PhonemeRecognizerErrors.count(["a", "b", "c"], ["a", "c", "d"]), 2)
    }
}

/// The recogniser's edit count, reached through the Probes module.
enum PhonemeRecognizerErrors {
    static func count(_ hypothesis: [String], _ reference: [String]) -> Int { PhonemeRecognizer.errors(hypothesis, reference) }
}
