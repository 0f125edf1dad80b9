import AudioData
import Foundation
import SafeTensors
import TestSupport
import XCTest

/// Files that decode but cannot be speech — NaN or infinite samples, a header claiming 1 Hz — are errors naming the
/// file (or, with --skip-bad-audio, skipped and counted), never NaN features or a huge resampled signal.
final class BadAudioTests: XCTestCase {
    private var temporary: URL!

    override func setUpWithError() throws {
        temporary = try makeTemporaryDirectory()
    }

    /// A mono WAV: IEEE float32 samples (format 3) or int16 (format 1), at `rate` as the header states it.
    private func writeWAV(_ name: String, rate: Int, float samples: [Float]? = nil, int16: [Int16]? = nil) throws -> URL {
        let float = samples != nil
        var body = Data()
        if let samples { for s in samples { withUnsafeBytes(of: s.bitPattern.littleEndian) { body.append(contentsOf: $0) } } }
        if let int16 { for s in int16 { withUnsafeBytes(of: s.littleEndian) { body.append(contentsOf: $0) } } }
        let bytesPerSample = float ? 4 : 2
        var data = Data("RIFF".utf8)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { data.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { data.append(contentsOf: $0) } }
        u32(36 + body.count); data.append(contentsOf: Data("WAVEfmt ".utf8)); u32(16)
        u16(float ? 3 : 1); u16(1); u32(rate); u32(rate * bytesPerSample); u16(bytesPerSample); u16(8 * bytesPerSample)
        data.append(contentsOf: Data("data".utf8)); u32(body.count); data.append(body)
        let url = temporary.appendingPathComponent(name)
        try data.write(to: url)
        return url
    }

    private func tone(_ count: Int) -> [Float] { (0..<count).map { 0.3 * sin(Float($0) * 0.07) } }

    /// Finite samples near Float's limit overflow the spectrum into NaN: an error naming the file (found by
    /// `pretrain fuzz wav --seed 7 --input 256`).
    func testSamplesFarBeyondFullScaleAreAnError() throws {
        var samples = tone(1600)
        samples[100] = 3.0e38
        let url = try writeWAV("huge.wav", rate: 16_000, float: samples)
        XCTAssertThrowsError(try Waveform(contentsOf: url)) {
            XCTAssertTrue("\($0)".contains("huge.wav: 1 of 1600 samples exceed 10000 times full scale"), "\($0)")
        }
    }

    func testNonFiniteSamplesAreAnErrorNamingTheFile() throws {
        var samples = tone(1600)
        samples[10] = .nan
        samples[20] = .infinity
        let url = try writeWAV("nan.wav", rate: 16_000, float: samples)
        XCTAssertThrowsError(try Waveform(contentsOf: url)) {
            XCTAssertEqual("\($0)", "\(url.path): 2 of 1600 samples are not finite (NaN or infinity)")
            XCTAssertTrue(($0 as? AudioError)?.isBadAudio ?? false)
        }
    }

    func testAnAbsurdSampleRateIsAnErrorBeforeAnythingIsResampled() throws {
        let url = try writeWAV("one-hertz.wav", rate: 1, int16: [Int16](repeating: 1000, count: 64))
        XCTAssertThrowsError(try Waveform(contentsOf: url)) {
            XCTAssertEqual("\($0)", "\(url.path): a sample rate of 1 Hz is outside 1000…384000 Hz (a corrupt header?)")
        }
        let fast = try writeWAV("fast.wav", rate: 1_000_000, int16: [Int16](repeating: 1000, count: 64))
        XCTAssertThrowsError(try Waveform(contentsOf: fast)) { XCTAssertTrue("\($0)".contains("1000000 Hz is outside"), "\($0)") }
    }

    func testACorpusStopsAtBadAudioUnlessAskedToSkipIt() throws {
        _ = try writeWAV("a.wav", rate: 16_000, float: tone(1600))
        _ = try writeWAV("b.wav", rate: 16_000, float: [Float](repeating: .nan, count: 800))
        try Data("junk".utf8).write(to: temporary.appendingPathComponent("c.wav"))
        let corpus = try AudioCorpus(temporary)
        XCTAssertThrowsError(try corpus.forEachWaveform { _, _ in }) { XCTAssertTrue("\($0)".contains("b.wav: 800 of 800"), "\($0)") }
        var loaded: [String] = []
        var reported: [Int] = []
        let skipped = try corpus.forEachWaveform(skipBadAudio: true, progress: { done, _ in reported.append(done) }) { file, _ in
            loaded.append(file.key)
        }
        XCTAssertEqual(loaded, ["a.wav"])
        XCTAssertEqual(skipped.map(\.key), ["b.wav", "c.wav"])
        XCTAssertEqual(skipped.map(\.isBadAudio), [true, false])
        XCTAssertEqual(reported, [1, 2, 3])
    }

    func testPrepareRefusesBadAudioOrSkipsAndCountsItWithTheFlag() throws {
        let input = temporary.appendingPathComponent("in")
        try FileManager.default.copyItem(at: AudioFixtures.audio, to: input)
        let nan = try writeWAV("nan.wav", rate: 16_000, float: [Float](repeating: .nan, count: 4000))
        try FileManager.default.moveItem(at: nan, to: input.appendingPathComponent("nan.wav"))
        let out = temporary.appendingPathComponent("corpus")
        let refused = try runPretrain(["features", "prepare", input.path, "--out", out.path, "--num-mel-bins", "40"])
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.output.contains("nan.wav: 4000 of 4000 samples are not finite"), refused.output)

        let result = try runPretrain(["features", "prepare", input.path, "--out", out.path, "--num-mel-bins", "40",
                                      "--skip-bad-audio"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("skipped 0 undecodable, 1 bad audio"), result.output)
        XCTAssertTrue(result.output.contains("features prepare: 5/5 files"), "a progress line: \(result.output)")
        let info = try FeatureCorpusInfo.read(directory: out)
        XCTAssertEqual([info.skipped, info.skippedBadAudio], [1, 1])
        XCTAssertEqual(info.skippedFiles, ["nan.wav"])
        let statistics = try FeatureNormalization(contentsOf: out.appendingPathComponent(info.normalization))
        XCTAssertTrue((statistics.mean + statistics.std).allSatisfy(\.isFinite))
    }
}

