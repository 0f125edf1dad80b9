import AudioData
import Foundation
import Layers
import Probes
import Tensors
import TestSupport
import XCTest

/// CTC fine-tuning on the tone corpus: a small encoder and its head learn tone sequences (the loss falls, PER is
/// scored), long inputs are encoded in windows joined along time, and labelled minutes are chosen by duration.
final class FineTuningTests: XCTestCase {
    private func corpus() throws -> URL {
        let url = try makeTemporaryDirectory()
        try ToneCorpus.make(in: url)
        return url
    }

    /// A tiny frame encoder over the default 23-bin fbank, normalised with statistics of `waveforms`.
    private func frameEncoder(maxFrames: Int = 128, statistics waveforms: [Waveform]) throws -> FeatureEncoderFineTuning {
        var generator = RandomGenerator(seed: 3)
        let config = AudioEncoderConfig(featureDimension: 23, hiddenSize: 32, layers: 1, heads: 2, maxFrames: maxFrames,
                                        frameStack: 2)
        let computer = try FbankComputer(options: FbankOptions())
        var accumulator = FeatureStatisticsAccumulator(dimension: 23)
        for waveform in waveforms { try accumulator.add(try computer.compute(waveform)) }
        return try FeatureEncoderFineTuning(encoder: AudioFrameEncoder(config, generator: &generator),
                                            normalization: try accumulator.normalization(), featureOptions: FbankOptions())
    }

    /// Fine-tunes a fresh tiny frame encoder on the whole train split (seed 0, learning rate 1e-3).
    private func fineTuneTiny(_ splits: [String: [ProbeExample]], steps: Int, logEvery: Int,
                              _ adjust: (inout CTCFineTuningSettings) -> Void) throws -> CTCFineTuningResult {
        let encoder = try frameEncoder(statistics: try splits["train"]!.map { try Waveform(contentsOf: $0.audio) })
        var settings = CTCFineTuningSettings()
        settings.steps = steps
        settings.learningRate = 1e-3
        settings.logEvery = logEvery
        adjust(&settings)
        return try CTCFineTuner(encoder: encoder, name: "tiny").run(splits: splits, train: splits["train"]!, seed: 0,
                                                                   settings: settings)
    }

    func testFineTuningLearnsToneSequencesAndScoresThePhonemeErrorRate() throws {
        let splits = try ProbeTask.pr.examples(corpus: try corpus())
        let result = try fineTuneTiny(splits, steps: 120, logEvery: 20) { $0.freezeEncoderSteps = 10 }
        XCTAssertEqual(result.phonemeInventory, ["a", "b", "c", "d"])
        XCTAssertEqual(result.losses.map(\.step), [20, 40, 60, 80, 100, 120])
        XCTAssertEqual(result.testUtterances, 10)
        XCTAssertEqual(result.referencePhonemes, splits["test"]!.reduce(0) { $0 + $1.phonemes.count })
        let (first, last) = (result.losses.first!.loss, result.losses.last!.loss)
        XCTAssertLessThan(last, first / 3, "the CTC loss falls: \(result.losses.map(\.loss))")
        // Four distinct tones, 0.15 s each: a fine-tuned encoder gets most of them (an untrained one, none).
        XCTAssertLessThan(result.per, 0.4, "PER \(result.per)")
        XCTAssertGreaterThan(result.labelledSeconds, 40 * 0.45 - 1e-9, "40 utterances of at least three 0.15 s tones")
        XCTAssertEqual(result.infeasibleTrainUtterances, 0, "50 steps a second for about 7 tones a second")
    }

    func testTheBestDevUpdateScoresTheTestSplit() throws {
        var splits = try ProbeTask.pr.examples(corpus: try corpus())
        splits["dev"] = splits["test"]   // dev = test: the reported PER must be the best dev PER exactly
        let result = try fineTuneTiny(splits, steps: 100, logEvery: 40) { $0.devEvery = 10 }
        XCTAssertEqual(result.devPERs.map(\.step), Array(stride(from: 10, through: 100, by: 10)))
        let best = result.devPERs.min { $0.per < $1.per }!
        XCTAssertEqual(result.selectedStep, best.step, "the first update with the lowest dev PER: \(result.devPERs)")
        XCTAssertLessThan(best.per, result.devPERs.last!.per, "this run ends worse than its best (0.29 vs 0.27 at update 50), so the selection is exercised")
        XCTAssertEqual(result.per, best.per, accuracy: 1e-12, "the test split is scored with the selected weights")

        let last = try fineTuneTiny(splits, steps: 100, logEvery: 40) { $0.devEvery = 0 }
        XCTAssertEqual(last.devPERs, [])
        XCTAssertEqual(last.selectedStep, 100)
        XCTAssertEqual(last.per, result.devPERs.last!.per, accuracy: 1e-12, "without selection: the last update's PER")
    }

    func testUtterancesTooShortForTheirPhonemesAreCounted() throws {
        let splits = try ProbeTask.pr.examples(corpus: try corpus())
        var generator = RandomGenerator(seed: 3)
        // 16-frame patches: 2–4 steps for 3–5 tones of 15 frames.
        let config = AudioEncoderConfig(featureDimension: 23, hiddenSize: 8, layers: 1, heads: 2, maxFrames: 128,
                                        patchFrequency: 23, patchTime: 16)
        let normalization = FeatureNormalization(mean: Array(repeating: 0, count: 23), std: Array(repeating: 1, count: 23), frameCount: 1)
        let encoder = try FeatureEncoderFineTuning(encoder: AudioPatchEncoder(config, generator: &generator),
                                                   normalization: normalization, featureOptions: FbankOptions())
        var settings = CTCFineTuningSettings()
        settings.steps = 3
        var warnings: [String] = []
        let tuner = CTCFineTuner(encoder: encoder, name: "coarse")
        tuner.log = { warnings.append($0) }
        let result = try tuner.run(splits: splits, train: splits["train"]!, seed: 0, settings: settings)
        XCTAssertGreaterThan(result.infeasibleTrainUtterances, 0)
        XCTAssertTrue(warnings.contains { $0.contains("too few encoder steps for CTC") }, "\(warnings)")
    }

    func testLongInputsAreEncodedInWindowsJoinedAlongTime() throws {
        let fineTuning = try frameEncoder(maxFrames: 16, statistics: [Waveform(samples: ToneCorpus.tones(["a", "b"], seed: 1), sampleRate: 16_000)])
        var generator = RandomGenerator(seed: 9)
        let input = FeatureMatrix(frameCount: 40, dimension: 23, values: (0..<(40 * 23)).map { _ in generator.nextNormal() })
        fineTuning.module.eval()
        let (states, lengths) = noGrad { fineTuning.states([input, FeatureMatrix(frameCount: 6, dimension: 23, values: Array(input.values[0..<(6 * 23)]))]) }
        // 40 frames > 16: three windows of 14, 14 and 12 frames → 7 + 7 + 6 steps of 2 stacked frames.
        XCTAssertEqual(lengths, [20, 3])
        XCTAssertEqual(states.shape, [2, 20, 32])
        let firstWindow = Tensor(Array(input.values[0..<(14 * 23)]), shape: [1, 14, 23])
        let direct = noGrad { fineTuning.encoder(firstWindow, lengths: [14]).lastHiddenState }
        for (a, b) in zip(Array(states.scalars[0..<(7 * 32)]), direct.scalars) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertTrue(states.scalars[(20 + 3) * 32..<(40 * 32)].allSatisfy { $0 == 0 }, "padding after the short utterance")
    }

    func testPatchStatesAreAveragedOverFrequencyRowsAlongTime() throws {
        var generator = RandomGenerator(seed: 4)
        let config = AudioEncoderConfig(featureDimension: 16, hiddenSize: 8, layers: 1, heads: 2, maxFrames: 32,
                                        patchFrequency: 8, patchTime: 4)
        let encoder = AudioPatchEncoder(config, generator: &generator)
        encoder.eval()
        let normalization = FeatureNormalization(mean: Array(repeating: 0, count: 16), std: Array(repeating: 1, count: 16), frameCount: 1)
        var options = FbankOptions()
        options.numMelBins = 16
        let fineTuning = try FeatureEncoderFineTuning(encoder: encoder, normalization: normalization, featureOptions: options)
        let input = FeatureMatrix(frameCount: 10, dimension: 16, values: (0..<160).map { _ in generator.nextNormal() })
        let (states, lengths) = noGrad { fineTuning.states([input]) }
        // ⌊10 / 4⌋ = 2 time columns of 2 frequency rows each.
        XCTAssertEqual(lengths, [2])
        XCTAssertEqual(states.shape, [1, 2, 8])
        let last = noGrad { encoder(Tensor(input.values, shape: [1, 10, 16]), lengths: [10]).lastHiddenState }.scalars
        for column in 0..<2 {
            for c in 0..<8 {
                XCTAssertEqual(states.scalars[column * 8 + c], (last[(2 * column) * 8 + c] + last[(2 * column + 1) * 8 + c]) / 2,
                               accuracy: 1e-5)
            }
        }
    }

    func testLabelledMinutesAreChosenByDurationAndSeed() throws {
        let examples = (0..<50).map {
            ProbeExample(audio: URL(fileURLWithPath: "/x/\($0).wav"), split: "train", label: "", phonemes: ["a"],
                         duration: Double(2 + $0 % 5))
        }
        let chosen = try labelledSubset(examples, seconds: 60, seed: 4)
        let total = chosen.reduce(0) { $0 + $1.duration! }
        XCTAssertLessThanOrEqual(total, 60)
        XCTAssertGreaterThan(total, 54, "filled to within one utterance of the budget")
        XCTAssertEqual(chosen, try labelledSubset(examples, seconds: 60, seed: 4), "the same for a seed")
        XCTAssertNotEqual(chosen, try labelledSubset(examples, seconds: 60, seed: 5))
    }

    func testTooFewLabelledMinutesAreClearErrors() {
        let examples = (0..<10).map {
            ProbeExample(audio: URL(fileURLWithPath: "/x/\($0).wav"), split: "train", label: "", phonemes: ["a"], duration: 3)
        }
        XCTAssertThrowsError(try labelledSubset(examples, seconds: 600, seed: 0)) {
            XCTAssertTrue("\($0)".contains("too few labelled minutes: 10.00 asked, but the 10 training utterances hold 0.50"), "\($0)")
        }
        XCTAssertThrowsError(try labelledSubset(examples, seconds: 2, seed: 0)) {
            XCTAssertTrue("\($0)".contains("shorter than every training utterance"), "\($0)")
        }
        XCTAssertThrowsError(try labelledSubset(examples, seconds: 0, seed: 0))
    }

    func testFineTuningIsPhonemeRecognitionOnly() throws {
        let splits = try ProbeTask.pr.examples(corpus: try corpus())
        let encoder = try frameEncoder(statistics: [Waveform(samples: ToneCorpus.tones(["a"], seed: 0), sampleRate: 16_000)])
        XCTAssertThrowsError(try CTCFineTuner(encoder: encoder, name: "x").run(splits: splits, train: splits["train"]!,
                                                                               task: .ks, seed: 0)) {
            XCTAssertTrue("\($0)".contains("--task pr"), "\($0)")
        }
    }
}
