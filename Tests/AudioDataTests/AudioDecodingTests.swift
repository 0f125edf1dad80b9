import AudioData
import TestSupport
import XCTest

final class AudioDecodingTests: XCTestCase {
    private var temporary: URL!

    override func setUpWithError() throws {
        temporary = try makeTemporaryDirectory()
    }

    func testInt16WavDecodesToSamplesOver32768AtItsRate() throws {
        let decoded = try AudioDecoder.decode(AudioFixtures.audio.appendingPathComponent("chirp16k_int16.wav"))
        XCTAssertEqual(decoded.sampleRate, 16_000)
        XCTAssertEqual(decoded.channels, 1)
        XCTAssertEqual(decoded.frameCount, 24_000)
        XCTAssertLessThanOrEqual(decoded.samples.map(abs).max()!, 1)
        // Every value is an int16 over 32768.
        XCTAssertTrue(decoded.samples.allSatisfy { ($0 * 32768).rounded() == $0 * 32768 })
    }

    func testFloat32WavDecodesAsStored() throws {
        let decoded = try AudioDecoder.decode(AudioFixtures.audio.appendingPathComponent("tone22k_float32.wav"))
        XCTAssertEqual(decoded.sampleRate, 22_050)
        XCTAssertEqual(decoded.frameCount, 22_050)
        // The fixture has a DC offset of 0.05.
        let mean = decoded.samples.reduce(0, +) / Float(decoded.samples.count)
        XCTAssertEqual(mean, 0.05, accuracy: 5e-3)
    }

    func testStereoMixesDownToTheChannelAverage() throws {
        let decoded = try AudioDecoder.decode(AudioFixtures.audio.appendingPathComponent("stereo44k_int16.wav"))
        XCTAssertEqual(decoded.channels, 2)
        let mono = decoded.monoMixdown()
        XCTAssertEqual(mono.count, decoded.frameCount)
        for t in [0, 1, 100, 12_345, mono.count - 1] {
            XCTAssertEqual(mono[t], (decoded.samples[2 * t] + decoded.samples[2 * t + 1]) / 2)
        }
    }

    func testWaveformLoadsMonoAtTheModelRate() throws {
        let waveform = try Waveform(contentsOf: AudioFixtures.audio.appendingPathComponent("stereo44k_int16.wav"))
        XCTAssertEqual(waveform.sampleRate, 16_000)
        XCTAssertEqual(waveform.samples.count, 8_000)  // 0.5 s
    }

    func testMissingFileIsAnErrorNamingThePath() throws {
        let path = temporary.appendingPathComponent("absent.wav")
        XCTAssertThrowsError(try AudioDecoder.decode(path)) { error in
            XCTAssertTrue("\(error)".contains(path.path), "\(error)")
            XCTAssertTrue("\(error)".contains("cannot decode audio:"), "\(error)")
        }
    }

    func testTruncatedHeaderIsAnErrorWithLibsndfilesReason() throws {
        let original = try Data(contentsOf: AudioFixtures.audio.appendingPathComponent("noise8k_int16.wav"))
        let path = temporary.appendingPathComponent("truncated.wav")
        try original.prefix(20).write(to: path)  // RIFF/WAVE and part of the fmt chunk
        XCTAssertThrowsError(try AudioDecoder.decode(path)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("\(path.path): cannot decode audio: "), message)
            XCTAssertGreaterThan(message.count, "\(path.path): cannot decode audio: ".count + 5, message)
        }
    }

    func testEmptyFileIsAnError() throws {
        let path = temporary.appendingPathComponent("empty.wav")
        XCTAssertTrue(FileManager.default.createFile(atPath: path.path, contents: Data()))
        XCTAssertThrowsError(try Waveform(contentsOf: path)) { error in
            XCTAssertTrue("\(error)".contains(path.path), "\(error)")
        }
    }

    func testCorpusSkipsAndCountsUndecodableFiles() throws {
        let nested = temporary.appendingPathComponent("speaker1")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: AudioFixtures.audio.appendingPathComponent("noise8k_int16.wav"),
                                         to: nested.appendingPathComponent("a.wav"))
        try Data("not audio".utf8).write(to: temporary.appendingPathComponent("broken.wav"))
        try Data().write(to: temporary.appendingPathComponent("empty.flac"))
        try Data("notes".utf8).write(to: temporary.appendingPathComponent("readme.txt"))
        let corpus = try AudioCorpus(temporary)
        XCTAssertEqual(corpus.files.map(\.key), ["broken.wav", "empty.flac", "speaker1/a.wav"])
        var loaded: [String] = []
        let skipped = try corpus.forEachWaveform { file, waveform in
            loaded.append(file.key)
            XCTAssertEqual(waveform.sampleRate, 16_000)
        }
        XCTAssertEqual(loaded, ["speaker1/a.wav"])
        XCTAssertEqual(skipped.map(\.key), ["broken.wav", "empty.flac"])
        XCTAssertTrue(skipped[0].reason.contains("broken.wav"), skipped[0].reason)
    }

    func testCorpusOfAMissingPathIsAnError() {
        XCTAssertThrowsError(try AudioCorpus(temporary.appendingPathComponent("nowhere"))) { error in
            XCTAssertTrue("\(error)".contains("nowhere"), "\(error)")
        }
    }
}
