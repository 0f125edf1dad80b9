import AudioData
import Foundation
import TestSupport
import XCTest

/// The text-to-speech mel spectrogram, its inversion to linear magnitudes and Griffin-Lim against torchaudio in
/// float64 (scripts/make_tts_audio_fixtures.py: 0.4 s at 16 kHz of a chirp with two harmonics, 1024-point frames
/// every 256 samples, 80 Slaney mels to 8 kHz). Each stage reads the previous stage's values as the fixture writes
/// them, to 7 significant digits.
final class TTSVocoderTests: XCTestCase {
    struct Fixture: Decodable {
        struct GriffinLim: Decodable { let n_iter: Int, momentum: Double, length: Int }
        let options: TTSMelOptions
        let griffin_lim: GriffinLim
        let signal_pcm16: [Int]
        let log_mel: [[Float]]
        let linear_magnitude: [[Float]]
        let griffin_lim_waveform: [Float]

        var signal: [Float] { signal_pcm16.map { Float($0) / 32768 } }
        var logMel: FeatureMatrix { matrix(log_mel) }
        var magnitude: FeatureMatrix { matrix(linear_magnitude) }

        private func matrix(_ rows: [[Float]]) -> FeatureMatrix {
            FeatureMatrix(frameCount: rows.count, dimension: rows[0].count, values: Array(rows.joined()))
        }
    }

    func fixture() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixtureURL("AudioDataTests", "tts_mel.json")))
    }

    /// ‖|STFT(y)| − S‖ / ‖S‖.
    func spectralConvergence(_ y: [Float], target: FeatureMatrix, stft: ShortTimeFourierTransform) throws -> Double {
        let rebuilt = try stft.forward(y).magnitude
        XCTAssertEqual(rebuilt.shape, target.shape)
        var error = 0.0, norm = 0.0
        for (a, s) in zip(rebuilt.values, target.values) {
            error += Double(a - s) * Double(a - s)
            norm += Double(s) * Double(s)
        }
        return (error / norm).squareRoot()
    }

    /// The fixture's settings are the defaults, read from torchaudio's keyword names.
    func testFixtureOptionsAreTheDefaults() throws {
        XCTAssertEqual(try fixture().options, TTSMelOptions())
    }

    /// Within 1e-5 of torchaudio's log-mel: the fixture's 7 digits leave up to 5e-6 at |log| ≈ 11.5, the Float
    /// output 5e-7 (measured 4.8e-6).
    func testLogMelMatchesTorchaudio() throws {
        let f = try fixture()
        let result = try ttsLogMel(f.signal, options: f.options)
        XCTAssertEqual(result.shape, [26, 80])
        XCTAssertEqual(result.shape, f.logMel.shape)
        XCTAssertLessThanOrEqual(maxDifferences(result.values, f.logMel.values).absolute, 1e-5)
    }

    /// STFT then ISTFT gives the signal back to within 1e-6, for a whole number of hops and for a length that ends
    /// inside the last hop (measured 0: the Double round trip's error, ~1e-16, vanishes in the Float output).
    func testInverseSTFTReconstructsTheSignal() throws {
        let signal = try fixture().signal
        let stft = try ShortTimeFourierTransform(fftSize: 1024, hopLength: 256, windowLength: 1024)
        for length in [6400, 6123] {
            let x = Array(signal.prefix(length))
            let spectrogram = try stft.forward(x)
            XCTAssertEqual(spectrogram.frameCount, 1 + length / 256)
            let y = try stft.inverse(spectrogram, length: length)
            XCTAssertEqual(y.count, length)
            XCTAssertLessThanOrEqual(maxDifferences(y, x).absolute, 1e-6, "length \(length)")
        }
    }

    /// A window shorter than the FFT (zero-padded at the centre) inverts as well.
    func testInverseSTFTWithAShortWindow() throws {
        let signal = Array(try fixture().signal.prefix(5000))
        let stft = try ShortTimeFourierTransform(fftSize: 512, hopLength: 100, windowLength: 400)
        let y = try stft.inverse(stft.forward(signal), length: signal.count)
        XCTAssertLessThanOrEqual(maxDifferences(y, signal).absolute, 1e-6)
    }

    /// The minimum-norm least-squares inverse of the mel filters, clamped at 0, is torchaudio's InverseMelScale
    /// (lstsq with "gels"): within 1e-6 of the peak magnitude, where the fixture's 7 digits and the Float output
    /// alone leave up to 1.1e-7 (measured 1.2e-7).
    func testInverseMelMatchesTorchaudio() throws {
        let f = try fixture()
        let result = try TTSMelSpectrogram(options: f.options).linearMagnitude(logMel: f.logMel)
        XCTAssertEqual(result.shape, [26, 513])
        let peak = f.magnitude.values.max()!
        XCTAssertLessThanOrEqual(maxDifferences(result.values, f.magnitude.values).absolute, 1e-6 * peak)
        XCTAssertEqual(result.values.min(), 0)
    }

    /// Eight iterations of fast Griffin-Lim from the fixture's magnitudes give torchaudio's waveform to within 1e-5
    /// of its peak (measured 3.8e-7, the fixture's 7 digits). Griffin-Lim magnifies a change of its input about a
    /// thousandfold, which is why the fixture starts from the Float magnitudes this test holds: from the float64
    /// ones, the difference would be 2e-4 of the peak.
    func testGriffinLimMatchesTorchaudio() throws {
        let f = try fixture()
        let vocoder = try GriffinLimVocoder(options: f.options, iterations: f.griffin_lim.n_iter, momentum: f.griffin_lim.momentum)
        let y = try vocoder.waveform(magnitude: f.magnitude, length: f.griffin_lim.length)
        XCTAssertEqual(y.count, f.griffin_lim_waveform.count)
        let peak = f.griffin_lim_waveform.map(abs).max()!
        XCTAssertLessThanOrEqual(maxDifferences(y, f.griffin_lim_waveform).absolute, 1e-5 * peak)
    }

    /// More iterations bring the waveform's magnitudes closer to the target: the spectral convergence falls
    /// (measured 0.99, 0.31, 0.16, 0.13 after 0, 4, 16, 64 iterations).
    func testMoreIterationsLowerTheSpectralConvergence() throws {
        let f = try fixture()
        let stft = try TTSMelSpectrogram(options: f.options).stft
        let convergence = try [0, 4, 16, 64].map { iterations in
            let vocoder = try GriffinLimVocoder(options: f.options, iterations: iterations)
            return try spectralConvergence(vocoder.waveform(logMel: f.logMel, length: 6400), target: f.magnitude, stft: stft)
        }
        for (fewer, more) in zip(convergence, convergence.dropFirst()) {
            XCTAssertLessThan(more, fewer, "spectral convergence by iterations 0, 4, 16, 64: \(convergence)")
        }
    }

    func testBadOptionsAreRefusedByName() {
        let cases: [(String, (inout TTSMelOptions) -> Void)] = [
            ("sample_rate", { $0.sampleRate = 0 }),
            ("n_fft", { $0.fftSize = 1023 }),
            ("win_length", { $0.windowLength = 2048 }),
            ("hop_length", { $0.hopLength = 2048 }),
            ("hop_length", { $0.hopLength = 513 }),
            ("hop_length", { $0.hopLength = 0 }),
            ("n_mels", { $0.melCount = 0 }),
            ("n_mels", { $0.fftSize = 256; $0.windowLength = 256; $0.hopLength = 64; $0.melCount = 200 }),
            ("f_max", { $0.highFrequency = 9000 }),
            ("f_min", { $0.lowFrequency = 8000 }),
            ("f_min", { $0.lowFrequency = -1 }),
            ("log_floor", { $0.logFloor = 0 }),
        ]
        for (name, change) in cases {
            var options = TTSMelOptions()
            change(&options)
            XCTAssertThrowsError(try TTSMelSpectrogram(options: options), name) { error in
                XCTAssertTrue("\(error)".contains(name), "expected \(name) in: \(error)")
            }
        }
        XCTAssertThrowsError(try GriffinLimVocoder(momentum: 1)) { XCTAssertTrue("\($0)".contains("momentum"), "\($0)") }
        XCTAssertThrowsError(try GriffinLimVocoder(iterations: -1)) { XCTAssertTrue("\($0)".contains("iterations"), "\($0)") }
    }

    /// A length that does not give the spectrogram's frames is refused, naming the lengths that fit.
    func testALengthThatDoesNotFitTheFramesIsRefused() throws {
        let f = try fixture()
        let vocoder = try GriffinLimVocoder(options: f.options, iterations: 1)
        XCTAssertThrowsError(try vocoder.waveform(magnitude: f.magnitude, length: 7000)) { error in
            XCTAssertTrue("\(error)".contains("lengths 6400 to 6655 fit"), "\(error)")
        }
        XCTAssertThrowsError(try ttsLogMel([Float](repeating: 0, count: 512))) { error in
            XCTAssertTrue("\(error)".contains("too short for n_fft 1024"), "\(error)")
        }
    }
}
