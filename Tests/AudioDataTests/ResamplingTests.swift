import AudioData
import Foundation
import SafeTensors
import XCTest

/// soxr is not torchaudio's resampler, so the checks are about what resampling must preserve.
final class ResamplingTests: XCTestCase {
    private func sine(hertz: Double, rate: Int, seconds: Double, amplitude: Float = 0.5) -> [Float] {
        (0..<Int(Double(rate) * seconds)).map { amplitude * Float(sin(2 * Double.pi * hertz * Double($0) / Double(rate))) }
    }

    /// The amplitude of the `hertz` component (a single-bin DFT over the middle of the signal).
    private func amplitude(of hertz: Double, in samples: [Float], rate: Int) -> Double {
        let slice = samples[samples.count / 4..<samples.count * 3 / 4]
        var re = 0.0, im = 0.0
        for (i, x) in zip(slice.indices, slice) {
            let phase = 2 * Double.pi * hertz * Double(i) / Double(rate)
            re += Double(x) * cos(phase)
            im -= Double(x) * sin(phase)
        }
        return 2 * (re * re + im * im).squareRoot() / Double(slice.count)
    }

    private func rms(_ samples: ArraySlice<Float>) -> Double {
        (samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(samples.count)).squareRoot()
    }

    func testSinePreservesFrequencyAndAmplitudeAcrossRates() throws {
        for (from, to, hertz) in [(44_100, 16_000, 1_000.0), (8_000, 16_000, 440.0), (22_050, 16_000, 3_000.0), (16_000, 8_000, 700.0)] {
            let input = sine(hertz: hertz, rate: from, seconds: 0.5)
            let output = try Resampler.resample(input, from: from, to: to)
            XCTAssertEqual(output.count, input.count * to / from, "\(from) → \(to)")
            XCTAssertEqual(amplitude(of: hertz, in: output, rate: to), 0.5, accuracy: 5e-3, "\(from) → \(to)")
            XCTAssertLessThan(amplitude(of: hertz * 1.1, in: output, rate: to), 1e-2, "\(from) → \(to)")
        }
    }

    func testContentAboveTheNewNyquistIsRemoved() throws {
        let output = try Resampler.resample(sine(hertz: 10_000, rate: 44_100, seconds: 0.5), from: 44_100, to: 16_000)
        XCTAssertLessThan(rms(output[1_000..<7_000]), 1e-3)
    }

    func testStereoFixtureMatchesTorchaudiosResamplerLoosely() throws {
        let reference = try AudioFixtures.file().floats("resampled_stereo44k_to_16k").values
        let waveform = try Waveform(contentsOf: AudioFixtures.audio.appendingPathComponent("stereo44k_int16.wav"))
        XCTAssertEqual(waveform.samples.count, reference.count)
        // Away from the edges (filter start-up), the two band-limited resamplers agree to ~1 % of the signal.
        let middle = 500..<(reference.count - 500)
        let difference = zip(waveform.samples[middle], reference[middle]).map { $0 - $1 }
        XCTAssertLessThan(rms(difference[...]) / rms(reference[middle]), 1e-2)
    }

    func testSameRateIsUnchanged() throws {
        let input = sine(hertz: 300, rate: 16_000, seconds: 0.1)
        XCTAssertEqual(try Resampler.resample(input, from: 16_000, to: 16_000), input)
    }

    func testNonPositiveRateIsAnError() {
        XCTAssertThrowsError(try Resampler.resample([0, 1], from: 0, to: 16_000))
    }
}
