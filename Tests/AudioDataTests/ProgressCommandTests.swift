import Foundation
import TestSupport
import XCTest

/// Long commands show their progress on stderr; stdout keeps only their results.
final class ProgressCommandTests: XCTestCase {
    /// Runs `pretrain arguments` with stdout and stderr apart.
    private func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try pretrainExecutable()
        process.arguments = arguments
        let out = Pipe()
        let errors = try makeTemporaryDirectory().appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        (process.standardOutput, process.standardError) = (out, try FileHandle(forWritingTo: errors))
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), try String(contentsOf: errors, encoding: .utf8))
    }

    func testFeaturePreparationAndKMeansReportProgressOnStandardError() throws {
        let corpus = try makeTemporaryDirectory().appendingPathComponent("corpus")
        let prepare = try run(["features", "prepare", AudioFixtures.audio.path, "--out", corpus.path, "--val-fraction", "0"])
        XCTAssertEqual(prepare.status, 0, prepare.stderr)
        XCTAssertTrue(prepare.stderr.contains("features prepare: 4/4 files"), prepare.stderr)
        XCTAssertTrue(prepare.stdout.hasPrefix("fbank corpus"), prepare.stdout)

        let centroids = corpus.deletingLastPathComponent().appendingPathComponent("centroids.safetensors")
        let kmeans = try run(["kmeans", corpus.path, "--k", "4", "--iterations", "20", "--out", centroids.path])
        XCTAssertEqual(kmeans.status, 0, kmeans.stderr)
        XCTAssertTrue(kmeans.stderr.contains("kmeans cepstra: 4/4 utterances"), kmeans.stderr)
        XCTAssertTrue(kmeans.stderr.contains("kmeans fit: 20/20 updates"), kmeans.stderr)
        XCTAssertFalse(kmeans.stdout.contains("updates"), "stdout holds the result only: \(kmeans.stdout)")
    }
}
