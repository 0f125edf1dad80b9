import Foundation
import Layers
import Objectives
import Tensors
import TestSupport
import XCTest

/// FastSpeech 2 with its own aligner against the PyTorch reference of scripts/make_fastspeech_fixtures.py (float64
/// stored as float32): the monotonic path's durations exactly, the loss and each term within 1e-5 of its magnitude,
/// every gradient within 1e-5 of each tensor's largest magnitude.
final class FastSpeechFixtureTests: XCTestCase {
    func testFastSpeechMatchesTorch() throws {
        let fixture = try AudioObjectiveFixtureTests.Fixture("fastspeech.safetensors")
        let config = FastSpeechConfig(phonemeCount: fixture.int("phonemes"), melCount: fixture.int("mels"),
                                      dModel: fixture.int("d_model"), heads: fixture.int("heads"), encoderLayers: 1,
                                      decoderLayers: 1, convolutionHidden: fixture.int("hidden"),
                                      convolutionKernel: fixture.int("kernel"),
                                      predictorHidden: fixture.int("predictor_hidden"),
                                      predictorKernel: fixture.int("predictor_kernel"),
                                      alignmentDimension: fixture.int("alignment_dim"),
                                      alignmentTemperature: Float(fixture.file.metadata["temperature"]!)!,
                                      variances: ["energy"], dropout: 0)
        var generator = RandomGenerator(seed: 0)
        let model = FastSpeechModel(config, generator: &generator)
        try model.load(try fixture.tensors(prefix: "param."))
        let training = FastSpeechTraining(model: model,
                                          weights: .init(binarization: Float(fixture.file.metadata["binarization"]!)!))
        let phonemeLengths = try fixture.values("phoneme_lengths"), frameLengths = try fixture.values("frame_lengths")
        let phonemes = try fixture.values("phonemes")
        let batch = SpeechSynthesisBatch(
            phonemes: IntTensor(phonemes, shape: [phonemeLengths.count, phonemes.count / phonemeLengths.count]),
            phonemeLengths: phonemeLengths, mel: try fixture.tensor("mel"), frameLengths: frameLengths,
            frameVariances: [try fixture.tensor("energy")])
        let losses = training.losses(batch)
        XCTAssertEqual(losses.durations.flatMap { $0 }, try fixture.values("durations"), "monotonic alignment search")
        for (name, value) in [("mel_loss", losses.mel), ("duration_loss", losses.duration), ("energy_loss", losses.variances[0]),
                              ("alignment_loss", losses.alignment), ("binarization_loss", losses.binarization!),
                              ("loss", losses.total)] {
            assertMatchesReference(value.reshaped([1]), try fixture.tensor(name), relative: 1e-5, name)
        }
        losses.total.backward()
        assertGradientsMatchReference(model.namedParameters(), expected: try fixture.tensors(prefix: "grad."),
                                      relative: 1e-5, "FastSpeech")
    }

    /// Monotonic alignment search on a matrix whose best path is known: every frame's largest entry lies on a
    /// monotonic path, so the search follows the rows' maxima.
    func testMonotonicAlignmentFollowsAClearPath() {
        let path = [0, 0, 1, 2, 2, 2, 3]
        var logProbabilities = [Float](repeating: -5, count: path.count * 4)
        for (t, p) in path.enumerated() { logProbabilities[t * 4 + p] = 0 }
        let durations = logProbabilities.withUnsafeBufferPointer {
            MonotonicAlignment.durations($0.baseAddress!, frames: path.count, phonemes: 4)
        }
        XCTAssertEqual(durations, [2, 1, 3, 1])
        // With as many frames as phonemes the only path is the diagonal, whatever the values say.
        let square = [Float](repeating: 0, count: 9).enumerated().map { Float($0.offset % 3 == 0 ? 3 : 0) }
        XCTAssertEqual(square.withUnsafeBufferPointer { MonotonicAlignment.durations($0.baseAddress!, frames: 3, phonemes: 3) },
                       [1, 1, 1])
    }

    /// The beta-binomial prior's rows are distributions over the phonemes (for P ≪ T a row may lose mass at n = P,
    /// which the support 0…P − 1 leaves out) whose mode moves forward with the frame.
    func testAlignmentPriorMovesAlongThePhonemes() {
        let (frames, phonemes) = (20, 5)
        let prior = MonotonicAlignment.logBetaBinomialPrior(frames: frames, phonemes: phonemes)
        var previousMode = 0
        for t in 0..<frames {
            let row = prior[(t * phonemes)..<((t + 1) * phonemes)].map { exp(Double($0)) }
            XCTAssertLessThanOrEqual(row.reduce(0, +), 1 + 1e-6)
            let mode = row.indices.max { row[$0] < row[$1] }!
            XCTAssertGreaterThanOrEqual(mode, previousMode, "frame \(t)")
            previousMode = mode
        }
        XCTAssertEqual(previousMode, phonemes - 1)
    }
}
