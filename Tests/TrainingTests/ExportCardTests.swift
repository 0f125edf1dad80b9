import Foundation
import TestSupport
import Training
import XCTest

/// `pretrain export --format hf` writes what transformers and the Hub read beside the weights: the model card,
/// generation_config.json and tokenizer_config.json.
final class ExportCardTests: XCTestCase {
    func testTheExportHasACardAGenerationConfigAndATokenizerConfig() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writePrepared(to: root.appendingPathComponent("corpus"))
        try """
            model: {layers: 1, d_model: 16, heads: 2, context: 8, max_positions: 16}
            data: {corpus: corpus}
            optim: {batch_size: 4}
            train: {steps: 6, eval_every: 3, eval_batches: 2, log_every: 1}
            """.write(to: root.appendingPathComponent("tiny.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try runPretrain(["train", "tiny.yaml", "--run-dir", "run"], in: root).status, 0)
        let export = try runPretrain(["export", "run", "--format", "hf", "--out", "hf"], in: root)
        XCTAssertEqual(export.status, 0, export.output)

        let card = try String(contentsOf: root.appendingPathComponent("hf/README.md"), encoding: .utf8)
        for expected in ["library_name: transformers", "pipeline_tag: text-generation", "# GPT2LMHeadModel trained with swift-pretrain",
                         "## Intended use", "The prepared corpus `corpus`.", "| steps | 6 |", "| val loss at step 6 |",
                         "holds 16 positions", "```yaml\nmodel:\n  flavor: gpt2"] {
            XCTAssertTrue(card.contains(expected), "README.md lacks \(expected):\n\(card)")
        }
        let generation = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("hf/generation_config.json")))
        XCTAssertEqual((generation as? [String: Any])?["max_length"] as? Int, 16)
        let tokenizer = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("hf/tokenizer_config.json")))
        XCTAssertEqual((tokenizer as? [String: Any])?["model_max_length"] as? Int, 16)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("hf/config.json")))
        XCTAssertEqual((config as? [String: Any])?["n_positions"] as? Int, 16, "max_positions is the exported position table")
    }
}
