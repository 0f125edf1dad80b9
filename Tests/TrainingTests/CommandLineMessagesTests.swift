import Foundation
import TestSupport
import Training
import XCTest

/// What `pretrain` says to a user's mistakes and questions, in a child process as the user runs it: a misspelt
/// subcommand gets the one meant, `--version` answers, a recipe error names the file, line and key, a result file
/// that `probe-table` or `tts table` cannot read is named without the usage lines.
final class CommandLineMessagesTests: XCTestCase {
    func testAMisspeltSubcommandSuggestsTheOneMeant() throws {
        let train = try runPretrain(["trian", "recipe.yaml"])
        XCTAssertEqual(train.status, 64, train.output)
        XCTAssertTrue(train.output.contains("unknown command 'pretrain trian' (did you mean 'train'?)"), train.output)
        let synth = try runPretrain(["data", "synth-speach"])
        XCTAssertEqual(synth.status, 64, synth.output)
        XCTAssertTrue(synth.output.contains("unknown command 'pretrain data synth-speach' (did you mean 'synth-speech'?)"), synth.output)
    }

    func testVersionNamesTheBuildAndTheBackend() throws {
        let result = try runPretrain(["--version"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.hasPrefix("pretrain "), result.output)
        XCTAssertTrue(result.output.contains("build:"), result.output)
        XCTAssertTrue(result.output.contains("backend:"), result.output)
        // The commit stamped at build time is the checkout's HEAD (the suite is built from this checkout).
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", root.path, "rev-parse", "--short=12", "HEAD"]
        let pipe = Pipe()
        git.standardOutput = pipe
        git.standardError = FileHandle.nullDevice
        try git.run()
        git.waitUntilExit()
        let head = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if git.terminationStatus == 0 {
            XCTAssertTrue(result.output.contains("(commit \(head)"), result.output)
        } else {
            XCTAssertTrue(result.output.contains("(commit unknown)"), result.output)
        }
    }

    func testARecipeTypoNamesTheFileLineAndTheKeyMeant() throws {
        let root = try makeTemporaryDirectory()
        try "optim:\n  lr: 1e-3\n  learning_rate: 2\n".write(to: root.appendingPathComponent("typo.yaml"), atomically: true, encoding: .utf8)
        try "optim:\n  lr: 1e-3\n".write(to: root.appendingPathComponent("valid.yaml"), atomically: true, encoding: .utf8)
        let file = try runPretrain(["train", "typo.yaml", "--run-dir", "run"], in: root)
        XCTAssertEqual(file.status, 1, file.output)
        XCTAssertTrue(file.output.contains("typo.yaml:3:3: unknown key 'optim.learning_rate': did you mean optim.lr?"), file.output)
        let set = try runPretrain(["train", "valid.yaml", "--run-dir", "run", "--set", "optim.lr=abc"], in: root)
        XCTAssertEqual(set.status, 1, set.output)
        XCTAssertTrue(set.output.contains("--set optim.lr=abc: optim.lr: expected a number, got 'abc'"), set.output)
    }

    func testATableOfAMissingOrForeignResultFileNamesTheFileWithoutTheUsage() throws {
        let root = try makeTemporaryDirectory()
        try "{\"notes\": 1}".write(to: root.appendingPathComponent("notes.json"), atomically: true, encoding: .utf8)
        for (arguments, problem) in [
            (["probe-table", "nothing.json"], "nothing.json: cannot read a result file of pretrain probe: no such file or directory"),
            (["probe-table", "notes.json"], "notes.json: not a result file of pretrain probe (Expected to decode Array"),
            (["tts", "table", "judged"], "judged/judge.json: cannot read a judgement of pretrain tts judge: no such file or directory"),
            (["tts", "table", "--preference", "notes.json"], "notes.json: not a preference.json of pretrain tts words (missing key"),
        ] {
            let result = try runPretrain(arguments, in: root)
            XCTAssertEqual(result.status, 1, result.output)
            XCTAssertTrue(result.output.contains(problem), result.output)
            XCTAssertFalse(result.output.lowercased().contains("usage"), result.output)
        }
    }

    func testKMeansSettingsAreCheckedBeforeTheCorpusIsRead() throws {
        // No corpus at all: the impossible k is what is reported, so a large corpus is not read first.
        let result = try runPretrain(["kmeans", "no-corpus", "--k", "0", "--out", "c.safetensors"], in: try makeTemporaryDirectory())
        XCTAssertEqual(result.status, 64, result.output)
        XCTAssertTrue(result.output.contains("k-means: k must be ≥ 2, got 0"), result.output)
        let few = try runPretrain(["kmeans", "no-corpus", "--k", "8", "--max-vectors", "4", "--out", "c.safetensors"],
                                  in: try makeTemporaryDirectory())
        XCTAssertTrue(few.output.contains("--max-vectors 4 cannot make --k 8 clusters"), few.output)
    }

    func testBenchRefusesZeroThreadsInsteadOfRunningOnOne() throws {
        let result = try runPretrain(["bench", "step", "--model", "tiny", "--threads", "0"], in: try makeTemporaryDirectory())
        XCTAssertEqual(result.status, 64, result.output)
        XCTAssertTrue(result.output.contains("--threads must be ≥ 1, got 0"), result.output)
    }
}
