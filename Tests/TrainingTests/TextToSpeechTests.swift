import AudioData
import Foundation
import Tensors
import TestSupport
import Training
import XCTest

/// FastSpeech through the shared trainer on a small espeak-ng corpus (`pretrain data synth-speech --subsets tts`):
/// the run learns, resumes exactly, keeps tts.json in its checkpoints and speaks through `pretrain tts say`; bad
/// recipes and inputs are refused with the key or the file named.
final class TextToSpeechTests: XCTestCase {
    /// 16 train, 3 dev, 2 test utterances of one clean voice, made once.
    static let corpus: URL = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tts-corpus-\(getpid())")
        let (status, output) = try! runPretrain(["data", "synth-speech", "--subsets", "tts", "--tts", "16,3,2", "--hours", "0",
                                                 "--out", directory.path, "--text-dir",
                                                 repositoryRoot.appendingPathComponent("data/shakespeare").path])
        precondition(status == 0, output)
        return directory
    }()

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
                                 (", variances: [pitch]", "model.variances: 'pitch' is not one the TTS corpus supplies"),
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
}
