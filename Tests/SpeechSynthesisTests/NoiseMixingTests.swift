import SpeechSynthesis
import XCTest

final class NoiseMixingTests: XCTestCase {
    /// A 440 Hz tone at about −12 dBFS, one second.
    let tone = (0..<16_000).map { Float(8000 * sin(2 * Double.pi * 440 * Double($0) / 16_000)) }

    func testNoiseIsMixedAtTheRequestedSignalToNoiseRatio() {
        for colour in Augmentation.NoiseColour.allCases {
            let augmentation = Augmentation(reverb: nil, noise: colour, snrDB: 10, gainDB: 0)
            var random = SeededRandom(seed: 3)
            let mixed = NoiseMixing.mix(speech: tone, augmentation: augmentation, random: &random)
            let noise = zip(mixed, tone).map { Float($0) - $1 }
            let snr = 20 * log10(NoiseMixing.rootMeanSquare(tone) / NoiseMixing.rootMeanSquare(noise))
            XCTAssertEqual(snr, 10, accuracy: 0.05, "\(colour)")   // rounding to 16 bits moves it by < 0.01 dB
        }
    }

    func testTheSameStreamGivesTheSameSamples() {
        let augmentation = Augmentation(reverb: nil, noise: .pink, snrDB: 5, gainDB: -3)
        var a = SeededRandom(seed: 9, name: "x"), b = SeededRandom(seed: 9, name: "x")
        XCTAssertEqual(NoiseMixing.mix(speech: tone, augmentation: augmentation, random: &a),
                       NoiseMixing.mix(speech: tone, augmentation: augmentation, random: &b))
    }

    func testLoudMixesAreScaledInsteadOfClipped() {
        let loud = tone.map { $0 * 4 }   // peaks at 32000 before noise
        var random = SeededRandom(seed: 4)
        let mixed = NoiseMixing.mix(speech: loud, augmentation: Augmentation(reverb: nil, noise: .white, snrDB: 5, gainDB: 0),
                                    random: &random)
        XCTAssertLessThanOrEqual(mixed.map { abs(Int($0)) }.max()!, 32_000)
    }

    func testPaddingPlacesTheClipInTheSlack() {
        let padded = NoiseMixing.pad([1, 2], minimumCount: 6, placement: 0.5)
        XCTAssertEqual(padded, [0, 0, 1, 2, 0, 0])
        XCTAssertEqual(NoiseMixing.pad([1, 2, 3], minimumCount: 2, placement: 0.5), [1, 2, 3])
    }
}
