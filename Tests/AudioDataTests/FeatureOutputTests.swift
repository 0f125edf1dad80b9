import Foundation
import TestSupport
import XCTest

/// `pretrain features prepare --out` where a file is: one line naming the path, not a Foundation error code.
final class FeatureOutputTests: XCTestCase {
    func testPrepareIntoAFileSaysItIsAFile() throws {
        let root = try makeTemporaryDirectory()
        let out = root.appendingPathComponent("taken")
        try Data("x".utf8).write(to: out)
        let result = try runPretrain(["features", "prepare", AudioFixtures.audio.path, "--out", out.path])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("\(out.path): cannot create the directory: it already exists as a file"), result.output)
    }
}
