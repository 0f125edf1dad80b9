import AudioData
import Foundation
import SafeTensors
import XCTest

/// `FeatureFile` writes a tensor per decodable file of a directory, names what it skipped, and refuses a
/// directory with nothing to decode.
final class FeatureFileTests: XCTestCase {
    private func fbankFile() throws -> FeatureFile {
        var options = FbankOptions()
        options.numMelBins = 40
        let computer = try FbankComputer(options: options)
        return FeatureFile(kind: "fbank", options: options.kaldiArguments, dimension: 40, sampleRate: 16_000) {
            computer.compute(batch: $0)
        }
    }

    func testADirectoryGivesOneTensorPerDecodableFile() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("feature-file-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let input = root.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: AudioFixtures.audio, to: input)
        try Data("junk".utf8).write(to: input.appendingPathComponent("bad.wav"))
        let out = root.appendingPathComponent("fbank.safetensors"), stats = root.appendingPathComponent("stats.safetensors")

        var skipped: [String] = []
        let summary = try fbankFile().write(input: input, to: out, statistics: stats, skippedFile: { skipped.append($0.key) })
        XCTAssertEqual(skipped, ["bad.wav"])
        XCTAssertEqual(summary.files, 4)
        let file = try SafeTensorsFile(contentsOf: out)
        XCTAssertEqual(file.names.count, 4)
        XCTAssertEqual(file.metadata["features"], "fbank")
        XCTAssertEqual(summary.frames, try file.names.map { try file.info($0).shape[0] }.reduce(0, +))
        XCTAssertEqual(try SafeTensorsFile(contentsOf: stats).floats("feature_mean").shape, [40])

        let junk = root.appendingPathComponent("junk")
        try FileManager.default.createDirectory(at: junk, withIntermediateDirectories: true)
        try Data("junk".utf8).write(to: junk.appendingPathComponent("bad.wav"))
        XCTAssertThrowsError(try fbankFile().write(input: junk, to: root.appendingPathComponent("none.safetensors"))) { error in
            XCTAssertTrue(error is FeatureFile.NothingDecoded, "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("none.safetensors").path))
    }
}
