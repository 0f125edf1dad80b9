import Foundation
import TestSupport
import XCTest

/// `pretrain merge`, and `--compose` on eval and generate, as a user runs them.
final class ComposeCommandLineTests: XCTestCase {
    func json(_ output: String) throws -> [String: Any] {
        let line = try XCTUnwrap(output.split(separator: "\n").last { $0.hasPrefix("{") }, output)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    /// One model composed with weight 1 scores a corpus as `eval` scores the checkpoint (the objective's loss);
    /// up-scaling's composition gives another loss; a merge writes a checkpoint that eval reads.
    func testEvalOfACompositionAndOfAMerge() throws {
        let directory = try makeTemporaryDirectory()
        let corpus = directory.appendingPathComponent("corpus")
        try SyntheticCorpus.writePrepared(to: corpus, vocabularySize: 64)
        let (large, tuned, base) = try (TinyCheckpoints.write(directory.appendingPathComponent("large"), section: TinyCheckpoints.section(layers: 3), seed: 1),
                                        TinyCheckpoints.write(directory.appendingPathComponent("tuned"), section: TinyCheckpoints.section(layers: 1), seed: 2),
                                        TinyCheckpoints.write(directory.appendingPathComponent("base"), section: TinyCheckpoints.section(layers: 1), seed: 3))
        let plain = try runPretrain(["eval", large.path, "--data", corpus.path, "--json"])
        XCTAssertEqual(plain.status, 0, plain.output)
        let alone = try runPretrain(["eval", "--compose", "large", "--model", "large=\(large.path)", "--data", corpus.path, "--json"])
        XCTAssertEqual(alone.status, 0, alone.output)
        let (a, b) = (try json(plain.output), try json(alone.output))
        XCTAssertEqual(try XCTUnwrap(a["loss"] as? Double), try XCTUnwrap(b["loss"] as? Double), accuracy: 1e-5)
        XCTAssertEqual(a["predicted_tokens"] as? Int, b["predicted_tokens"] as? Int)
        XCTAssertEqual(b["composition"] as? String, "1*large")

        let upScaled = try runPretrain(["eval", "--compose", "large + 1.0*(tuned - base)", "--model", "large=\(large.path)",
                                        "--model", "tuned=\(tuned.path)", "--model", "base=\(base.path)", "--data", corpus.path])
        XCTAssertEqual(upScaled.status, 0, upScaled.output)
        XCTAssertTrue(upScaled.output.hasPrefix("1*large + 1*tuned - 1*base val: loss "), upScaled.output)

        let merged = directory.appendingPathComponent("merged")
        let merge = try runPretrain(["merge", "--method", "ties", "--base", base.path, tuned.path, base.path, "--density", "0.5",
                                     "--out", merged.path])
        XCTAssertEqual(merge.status, 0, merge.output)
        XCTAssertEqual(merge.output, "merged 2 models by ties into \(merged.path)\n")
        let evaluated = try runPretrain(["eval", merged.path, "--data", corpus.path])
        XCTAssertEqual(evaluated.status, 0, evaluated.output)
    }

    func testGenerateFromACompositionAndOneLineMistakes() throws {
        let directory = try makeTemporaryDirectory()
        let large = try TinyCheckpoints.write(directory.appendingPathComponent("large"), seed: 1)
        // With a real tokenizer (512 ids): a greedy continuation from the composition, the prompt first.
        let tokenizer = try String(contentsOf: fixtureURL("TextDataTests", "hf_bpe512.tokenizer.json"), encoding: .utf8)
        var section = TinyCheckpoints.section()
        section.vocabSize = 512
        let (a, b) = try (TinyCheckpoints.write(directory.appendingPathComponent("a"), section: section, seed: 4, tokenizer: tokenizer),
                          TinyCheckpoints.write(directory.appendingPathComponent("b"), section: section, seed: 5, tokenizer: tokenizer))
        let generated = try runPretrain(["generate", "--compose", "a + 0.5*(b - a)", "--model", "a=\(a.path)", "--model", "b=\(b.path)",
                                         "--prompt", "To be", "--temperature", "0", "--max-tokens", "40"])
        XCTAssertEqual(generated.status, 0, generated.output)
        XCTAssertTrue(generated.output.hasPrefix("To be") && generated.output.count > 6, generated.output)
        // bf16 numerics on any CPU (operands rounded in software)
        let rounded = try runPretrain(["generate", a.path, "--prompt", "To be", "--temperature", "0", "--max-tokens", "8",
                                       "--precision", "bf16-emulated"])
        XCTAssertEqual(rounded.status, 0, rounded.output)
        XCTAssertTrue(rounded.output.hasPrefix("To be") && rounded.output.count > 6, rounded.output)
        let cases: [([String], String)] = [
            (["generate", a.path, "--precision", "fp8"], "Error: --precision must be one of fp32, bf16, bf16-emulated"),
            (["generate", a.path, "--threads", "0"], "Error: --threads must be ≥ 1, got 0"),
            (["generate", large.path, "--compose", "a", "--model", "a=\(large.path)"], "Error: give a checkpoint (\(large.path)) or --compose, not both"),
            (["generate", "--model", "a=\(large.path)"], "Error: --model binds a name of --compose, which is missing"),
            (["generate"], "Error: give a checkpoint, or --compose with --model bindings"),
            (["merge", "--method", "soup", large.path, "--out", directory.appendingPathComponent("x").path],
             "Error: --method soup: expected linear, task-arithmetic, ties, residual"),
            (["merge", "--method", "linear", large.path, large.path, "--weights", "1,x", "--out", directory.appendingPathComponent("x").path],
             "Error: --weights 1,x: x is not a number"),
        ]
        for (arguments, message) in cases {
            let run = try runPretrain(arguments)
            XCTAssertNotEqual(run.status, 0, arguments.joined(separator: " "))
            XCTAssertEqual(run.output.trimmingCharacters(in: .newlines), message)
        }
    }
}
