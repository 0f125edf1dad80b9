import Foundation
import TestSupport
import Training
import XCTest

/// Recipes are parsed within limits on size, nesting and aliases: a hostile or broken file is an error naming the
/// file and the limit, in seconds, never a crash or gigabytes of memory. The two that crashed or blew up the
/// process before the limits run `pretrain train` in a child process, so that the suite survives a regression.
final class RecipeLimitsTests: XCTestCase {
    /// 5000 nested flow sequences in 10 KB overflowed the stack in Yams' recursive composer (signal 11).
    func testDeeplyNestedRecipeIsAnErrorNotACrash() throws {
        let root = try makeTemporaryDirectory()
        let recipe = root.appendingPathComponent("nested.yaml")
        try ("model: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n")
            .write(to: recipe, atomically: true, encoding: .utf8)
        let result = try runPretrainWithin(seconds: 60, ["train", recipe.path, "--run-dir", root.appendingPathComponent("run").path])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("nested.yaml: line 1, column 71: nested deeper than the limit of 64 levels"), result.output)
    }

    /// Nine levels of nine aliases each (342 bytes) expand to 9⁹ values; that reached 6 GB within two minutes.
    func testBillionLaughsIsRefusedWithinSeconds() throws {
        let root = try makeTemporaryDirectory()
        let recipe = root.appendingPathComponent("laughs.yaml")
        var lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for (previous, name) in zip("abcdefgh", "bcdefghi") {
            lines.append("\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]")
        }
        try (lines.joined(separator: "\n") + "\nmodel: {flavor: *i}\n").write(to: recipe, atomically: true, encoding: .utf8)
        let start = Date()
        let result = try runPretrainWithin(seconds: 60, ["train", recipe.path, "--run-dir", root.appendingPathComponent("run").path])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("laughs.yaml: line 5, column 8: aliases expand to more than the limit of 10000 values (*d)"),
                      result.output)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "refused before any expansion")
    }

    func testNestingIsCountedInBlockStyleToo() {
        let deep = (0..<70).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n") + " 1\n"
        XCTAssertThrowsError(try Recipe.parse(deep, source: "deep.yaml")) {
            XCTAssertTrue("\($0)".hasPrefix("deep.yaml: line 65, column 65: nested deeper than the limit of 64 levels"), "\($0)")
        }
        XCTAssertThrowsError(try Recipe.parse("model:\n" + String(repeating: "- ", count: 100) + "x\n", source: "dashes.yaml")) {
            XCTAssertTrue("\($0)".contains("nested deeper than the limit of 64 levels"), "\($0)")
        }
    }

    /// Recipes need no aliases, but a few that expand to little are valid YAML and stay allowed.
    func testAFewAliasesStillWork() throws {
        let recipe = try Recipe.parse("optim: {lr: &rate 3e-4, eps: *rate}\nschedule: {kind: cosine, min_lr: *rate}\n")
        XCTAssertEqual(recipe.optim.eps, 3e-4)
        XCTAssertEqual(recipe.schedule.minLR, 3e-4)
    }

    func testTooManyAliasesAreAnError() {
        let yaml = "optim: {lr: &rate 3e-4, betas: [" + Array(repeating: "*rate", count: 101).joined(separator: ", ") + "]}\n"
        XCTAssertThrowsError(try Recipe.parse(yaml, source: "aliases.yaml")) {
            XCTAssertTrue("\($0)".contains("aliases.yaml: line 1, column "), "\($0)")
            XCTAssertTrue("\($0)".contains("more than the limit of 100 aliases (*rate)"), "\($0)")
        }
    }

    /// A recipe is a few KiB: a file past 1 MiB is refused before it is read whole (a device or a FIFO too).
    func testAHugeRecipeIsRefusedUnread() throws {
        let recipe = try makeTemporaryDirectory().appendingPathComponent("huge.yaml")
        try String(repeating: "# a comment line of forty bytes or so.\n", count: 30_000).write(to: recipe, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Recipe.load(recipe)) {
            XCTAssertEqual("\($0)", "\(recipe.path): larger than a recipe's limit of 1048576 bytes")
        }
    }

    /// `pretrain arguments` in a child process, killed (SIGKILL, status 9) after `seconds`.
    private func runPretrainWithin(seconds: Double, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try pretrainExecutable()
        process.arguments = arguments
        let pipe = Pipe()
        (process.standardOutput, process.standardError) = (pipe, pipe)
        try process.run()
        let deadline = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: deadline)
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        deadline.cancel()
        return (process.terminationStatus, output)
    }
}
