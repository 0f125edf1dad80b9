import Foundation
import TestSupport
import Training
import XCTest

/// The continual pre-training workflow from the command line on a few KB of real text: an upstream run on Hamlet
/// with the infinite schedule, an anneal branch of it, and a continuation on the Sonnets with 25 % replay, whose
/// report shows the stability gap.
final class ContinualCommandLineTests: XCTestCase {

    /// `name/train.txt` and `name/held.txt` from a slice of a play in data/shakespeare.
    private func writeText(_ play: String, as name: String, in root: URL) throws {
        let repository = repositoryRoot
        let text = try String(contentsOf: repository.appendingPathComponent("data/shakespeare/\(play).txt"), encoding: .utf8)
        let slice = Array(text.utf8.dropFirst(2000).prefix(6000))
        let directory = root.appendingPathComponent("text/\(name)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(slice.prefix(4500)).write(to: directory.appendingPathComponent("train.txt"))
        try Data(slice.dropFirst(4500)).write(to: directory.appendingPathComponent("held.txt"))
    }

    private let tinyModel = "model: {layers: 1, d_model: 16, heads: 2, context: 16}\noptim: {lr: 3e-3, batch_size: 4}\n"

    func testUpstreamAnnealAndReplayContinuation() throws {
        let root = try makeTemporaryDirectory()
        try writeText("hamlet", as: "hamlet", in: root)
        try writeText("sonnets", as: "sonnets", in: root)
        var result = try runPretrain(["tokenize", "--train-vocab", "300", "--val-files", "held", "--out", "up", "text/hamlet"], in: root)
        XCTAssertEqual(result.status, 0, result.output)
        result = try runPretrain(["tokenize", "--tokenizer", "up/tokenizer.json", "--val-files", "held", "--out", "down", "text/sonnets"], in: root)
        XCTAssertEqual(result.status, 0, result.output)

        try (tinyModel + """
            data: {corpus: up}
            schedule: {kind: infinite, warmup: 2, cooldown: 1, constant_lr: 1.0e-3}
            train: {steps: 6, eval_every: 3, eval_batches: 2, log_every: 1, checkpoint_every: 3, keep_last: 5}
            """).write(to: root.appendingPathComponent("upstream.yaml"), atomically: true, encoding: .utf8)
        result = try runPretrain(["train", "upstream.yaml", "--run-dir", "upstream"], in: root)
        XCTAssertEqual(result.status, 0, result.output)

        result = try runPretrain(["anneal", "upstream", "--from-step", "4", "--steps", "2"], in: root)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("no complete checkpoint at step 4 (it has: 3, 6)"), result.output)
        result = try runPretrain(["anneal", "upstream", "--from-step", "3", "--steps", "2", "--shape", "cosine", "--min-lr", "1e-5"], in: root)
        XCTAssertEqual(result.status, 0, result.output)
        let anneal = try readMetrics(root.appendingPathComponent("upstream/anneals/from_3_steps_2/metrics.jsonl"))
        XCTAssertEqual(anneal.map(\.step), [4, 5])
        XCTAssertEqual(try XCTUnwrap(anneal.last?.lr), 1e-5 + 0.5 * (1 + cos(Double.pi / 2)) * (1e-3 - 1e-5), accuracy: 1e-9)

        try (tinyModel + """
            data: {corpus: down, replay: {corpus: up, fraction: 0.25}}
            schedule: {kind: constant, warmup: 2}
            train: {steps: 4, eval_every: 2, eval_batches: 2, log_every: 1}
            """).write(to: root.appendingPathComponent("downstream.yaml"), atomically: true, encoding: .utf8)
        result = try runPretrain(["train", "downstream.yaml", "--run-dir", "downstream", "--init-from", "upstream/checkpoints/step_000003"],
                         in: root)
        XCTAssertEqual(result.status, 0, result.output)
        let rows = try readMetrics(root.appendingPathComponent("downstream/metrics.jsonl"))
        XCTAssertEqual(rows.first?.step, 0)
        XCTAssertNotNil(rows.first?.namedValidationLosses["upstream"], "forgetting is measured from step 0")
        XCTAssertEqual(rows.last?.sourceTokens.values.reduce(0, +), 4 * 4 * 16)
        XCTAssertEqual(Set(try XCTUnwrap(rows.last?.sourceTokens).keys), ["corpus", "upstream"])
        result = try runPretrain(["report", "downstream"], in: root)
        XCTAssertEqual(result.status, 0, result.output)
        let html = try String(contentsOf: root.appendingPathComponent("downstream/report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<h2>Stability gap</h2>") && html.contains("init from step_000003"))
    }
}
