import AudioData
import Foundation
import SafeTensors
import TestSupport
import XCTest

/// `pretrain features` as a user runs it, in a subprocess (the executable built beside the tests).
final class FeaturesCommandTests: XCTestCase {
    private var temporary: URL!

    override func setUpWithError() throws {
        temporary = try makeTemporaryDirectory()
    }

    private func run(_ arguments: [String]) throws -> (status: Int32, output: String) { try runPretrain(arguments) }

    func testPrepareWritesAFeatureCorpusAndNamesSkippedFiles() throws {
        let input = temporary.appendingPathComponent("in")
        try FileManager.default.copyItem(at: AudioFixtures.audio, to: input)
        try Data("junk".utf8).write(to: input.appendingPathComponent("bad.wav"))
        let out = temporary.appendingPathComponent("corpus")
        let result = try run(["features", "prepare", input.path, "--out", out.path, "--num-mel-bins", "40", "--val-fraction", "0.3"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("bad.wav") && result.output.contains("skipped 1 undecodable"), result.output)
        let info = try FeatureCorpusInfo.read(directory: out)
        XCTAssertEqual([info.dimension, info.train.utterances + info.val.utterances, info.skipped], [40, 4, 1])
        XCTAssertEqual(try FeatureNormalization(contentsOf: out.appendingPathComponent(info.normalization)).mean.count, 40)
        let refused = try run(["features", "prepare", input.path, "--out", out.path, "--stats", "s.safetensors"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("leave out --stats"), refused.output)
    }

    func testDirectoryWritesOneTensorPerDecodableFileAndCountsTheRest() throws {
        let input = temporary.appendingPathComponent("in")
        try FileManager.default.copyItem(at: AudioFixtures.audio, to: input)
        try Data("junk".utf8).write(to: input.appendingPathComponent("bad.wav"))
        let out = temporary.appendingPathComponent("fbank.safetensors"), stats = temporary.appendingPathComponent("stats.safetensors")
        let result = try run(["features", "fbank", input.path, "--out", out.path, "--num-mel-bins", "40", "--stats", stats.path])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("skipped 1 undecodable"), result.output)
        let file = try SafeTensorsFile(contentsOf: out)
        XCTAssertEqual(file.names.sorted(), ["chirp16k_int16.wav", "noise8k_int16.wav", "stereo44k_int16.wav", "tone22k_float32.wav"])
        XCTAssertEqual(try file.info("chirp16k_int16.wav").shape, [148, 40])
        XCTAssertEqual(try SafeTensorsFile(contentsOf: stats).floats("feature_mean").shape, [40])
    }

    func testUndecodableSingleFileFailsNamingIt() throws {
        let bad = temporary.appendingPathComponent("bad.wav")
        try Data("junk".utf8).write(to: bad)
        let result = try run(["features", "mfcc", bad.path, "--out", temporary.appendingPathComponent("o.safetensors").path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("\(bad.path): cannot decode audio"), result.output)
    }
}
