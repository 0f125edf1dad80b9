import AudioData
import Foundation
import XCTest

/// YIN against signals whose fundamental is known by construction: a sine, a harmonic complex without its
/// fundamental (the pitch a listener hears), a glide, and noise (no pitch); one value per TTS mel frame.
final class PitchTrackingTests: XCTestCase {
    let rate = 16_000

    func tone(_ frequency: (Int) -> Double, harmonics: [(Int, Double)] = [(1, 1)], count: Int = 16_000) -> [Float] {
        var phase = 0.0
        return (0..<count).map { n in
            phase += 2 * Double.pi * frequency(n) / Double(rate)
            return Float(harmonics.reduce(0.0) { $0 + $1.1 * sin(Double($1.0) * phase) } * 0.3)
        }
    }

    func testASineAndAComplexWithoutItsFundamental() throws {
        let tracker = try PitchTracker()
        for (frequency, harmonics) in [(220.0, [(1, 1.0)]), (150.0, [(2, 1.0), (3, 0.8), (4, 0.5)]), (97.0, [(1, 0.4), (2, 1.0)])] {
            let samples = tone({ _ in frequency }, harmonics: harmonics)
            let f0 = try tracker.track(samples)
            XCTAssertEqual(f0.count, try TTSMelSpectrogram().logMel(samples).frameCount, "one value per mel frame")
            for value in f0.dropFirst(3).dropLast(3) {   // the reflected ends are not the tone
                XCTAssertEqual(Double(value), frequency, accuracy: frequency * 0.01, "\(frequency) Hz with harmonics \(harmonics)")
            }
        }
    }

    func testAGlideIsFollowed() throws {
        // 120 → 240 Hz over one second: each frame's estimate within 2 % of the frequency at its centre.
        let f0 = try PitchTracker().track(tone({ 120 + 120 * Double($0) / 16_000 }))
        for (t, value) in f0.enumerated().dropFirst(3).dropLast(3) {
            let centre = 120 + 120 * Double(t * 256) / 16_000
            XCTAssertEqual(Double(value), centre, accuracy: centre * 0.02, "frame \(t)")
        }
    }

    func testNoiseIsUnvoicedAndGapsAreInterpolated() throws {
        var state: UInt64 = 7
        let noise = (0..<16_000).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000 - 1000) / 3000
        }
        let f0 = try PitchTracker().track(noise)
        XCTAssertGreaterThan(f0.filter { $0 == 0 }.count, f0.count * 9 / 10, "white noise has no pitch")
        let filled = PitchTracker.interpolatedLogPitch([0, 100, 0, 0, 400, 0])
        let expected: [Float] = [log(100), log(100), log(100) + (log(400) - log(100)) / 3, log(100) + 2 * (log(400) - log(100)) / 3, log(400), log(400)]
        for (a, b) in zip(filled, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertEqual(PitchTracker.interpolatedLogPitch([0, 0]), [0, 0])
    }

    func testBadSettingsAreNamed() {
        XCTAssertThrowsError(try PitchTracker(minimumFrequency: 300, maximumFrequency: 200)) { XCTAssertTrue("\($0)".contains("pitch range")) }
        XCTAssertThrowsError(try PitchTracker(frameLength: 256, minimumFrequency: 40)) { XCTAssertTrue("\($0)".contains("too short for 40.0 Hz")) }
        XCTAssertThrowsError(try PitchTracker(threshold: 1.5)) { XCTAssertTrue("\($0)".contains("YIN threshold")) }
        XCTAssertThrowsError(try PitchTracker().track([0, 0, 0])) { XCTAssertTrue("\($0)".contains("too short to track pitch")) }
    }
}
