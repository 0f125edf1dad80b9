import Foundation
import TestSupport
import XCTest

/// Output paths a user can get wrong (a file where a directory goes, a directory where a recipe goes) are one line
/// naming the path and what went wrong, not a Foundation error code.
final class FileErrorCommandLineTests: XCTestCase {
    private func assertRefused(_ result: (status: Int32, output: String), _ expected: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 1, result.output, file: file, line: line)
        XCTAssertTrue(result.output.contains(expected), result.output, file: file, line: line)
        XCTAssertFalse(result.output.contains("NSCocoaErrorDomain") || result.output.contains("error 256"), result.output,
                       file: file, line: line)
    }

    func testARecipeThatIsADirectoryIsNamedAsOne() throws {
        let root = try makeTemporaryDirectory()
        try FileManager.default.createDirectory(at: root.appendingPathComponent("recipe.yaml"), withIntermediateDirectories: true)
        assertRefused(try runPretrain(["train", "recipe.yaml"], in: root),
                      "\(root.appendingPathComponent("recipe.yaml").path): cannot read the recipe: it is a directory")
    }

    func testTokenizeIntoAFileSaysItIsAFile() throws {
        let root = try makeTemporaryDirectory()
        try String(repeating: "to be or not to be, that is the question.\n", count: 50)
            .write(to: root.appendingPathComponent("text.txt"), atomically: true, encoding: .utf8)
        try Data("x".utf8).write(to: root.appendingPathComponent("taken"))
        assertRefused(try runPretrain(["tokenize", "--train-vocab", "300", "--out", "taken", "text.txt"], in: root),
                      "taken: cannot create the directory: it already exists as a file")
    }

    func testExportAndReportUnderAFileNameTheFileInTheWay() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writeTinyRecipe(in: root, layers: 1, optim: "{batch_size: 2}",
                                      train: "{steps: 1, eval_every: 1, eval_batches: 1, checkpoint_every: 1}")
        XCTAssertEqual(try runPretrain(["train", "tiny.yaml", "--run-dir", "run"], in: root).status, 0)
        try Data("x".utf8).write(to: root.appendingPathComponent("taken"))
        assertRefused(try runPretrain(["export", "run", "--out", "taken/hf"], in: root),
                      "taken/hf: cannot create the directory: \(root.appendingPathComponent("taken").path) is a file, not a directory")
        assertRefused(try runPretrain(["report", "run", "--out", "taken/report.html"], in: root),
                      "taken/report.html: cannot write the report: a part of the path is a file, not a directory")
    }
}
