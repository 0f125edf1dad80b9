import Foundation
import SpeechSynthesis
import XCTest

/// The telephone channel (sox, `make deps` installs it): what passes the band stays, what lies above 4 kHz is gone,
/// files keep their paths and length, the manifest is copied, a second run converts nothing again, and a directory
/// made with another channel is refused.
final class TelephoneChannelTests: XCTestCase {
    /// Energy of `samples` at `frequency` Hz (16 kHz), by correlation with a sine and a cosine.
    func energy(_ samples: [Int16], at frequency: Double) -> Double {
        var (s, c) = (0.0, 0.0)
        for (n, x) in samples.enumerated() {
            let phase = 2 * Double.pi * frequency * Double(n) / 16_000
            s += Double(x) * sin(phase)
            c += Double(x) * cos(phase)
        }
        return (s * s + c * c) / Double(samples.count * samples.count)
    }

    func testTheChannelKeepsTheBandAndRemovesWhatLiesAboveIt() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("telephone-\(UUID().uuidString.prefix(8))")
        let input = root.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input.appendingPathComponent("ks"), withIntermediateDirectories: true)
        let tone = (0..<16_000).map { n -> Int16 in
            let t = Double(n) / 16_000
            return Int16(6_000 * sin(2 * Double.pi * 1_000 * t) + 6_000 * sin(2 * Double.pi * 6_000 * t))
        }
        try WAVFile.write(tone, to: input.appendingPathComponent("ks/a.wav"))
        try #"{"path": "ks/a.wav", "subset": "ks", "split": "train", "label": "yes"}"#
            .write(to: input.appendingPathComponent("manifest.jsonl"), atomically: true, encoding: .utf8)
        for codec in TelephoneChannel.Codec.allCases {
            let out = root.appendingPathComponent(codec.rawValue)
            XCTAssertEqual(try TelephoneCorpus.convert(input: input, output: out, channel: TelephoneChannel(codec: codec)), 1)
            let (audio, _) = try WAVFile.read(out.appendingPathComponent("ks/a.wav"))
            XCTAssertEqual(audio.count, tone.count, codec.rawValue)
            let (kept, removed) = (energy(audio, at: 1_000), energy(audio, at: 6_000))
            XCTAssertGreaterThan(kept, 0.5 * energy(tone, at: 1_000), "\(codec): 1 kHz lies in the band")
            XCTAssertLessThan(removed, 1e-3 * energy(tone, at: 6_000), "\(codec): 6 kHz lies above the 8 kHz channel's Nyquist")
            XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("manifest.jsonl"), encoding: .utf8),
                           try String(contentsOf: input.appendingPathComponent("manifest.jsonl"), encoding: .utf8))
        }
        let ulaw = root.appendingPathComponent("ulaw")
        let before = try FileManager.default.attributesOfItem(atPath: ulaw.appendingPathComponent("ks/a.wav").path)[.modificationDate] as! Date
        try TelephoneCorpus.convert(input: input, output: ulaw, channel: TelephoneChannel(codec: .ulaw))
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: ulaw.appendingPathComponent("ks/a.wav").path)[.modificationDate] as? Date, before,
                       "a second run keeps the converted file")
        XCTAssertThrowsError(try TelephoneCorpus.convert(input: input, output: ulaw, channel: TelephoneChannel(codec: .gsm))) {
            XCTAssertTrue("\($0)".contains("holds audio of another channel"), "\($0)")
        }
        XCTAssertThrowsError(try TelephoneCorpus.convert(input: input, output: root.appendingPathComponent("bad"),
                                                         channel: TelephoneChannel(lowHz: 300, highHz: 5_000))) {
            XCTAssertTrue("\($0)".contains("0 < low < high < 4000"), "\($0)")
        }
    }
}
