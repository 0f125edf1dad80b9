import Foundation
import Layers
import Tensors
import TestSupport
import Training
import XCTest

/// SALT's data selection: which windows are kept, their scores, and the corpus it writes.
final class SLMDataSelectionTests: XCTestCase {
    /// Hardest first, the top `skip_hardest` set aside, the next `fraction` kept, returned in corpus order.
    func testKeepsTheBandBelowTheHardestInCorpusOrder() {
        let selection = SLMDataSelection(context: 4, fraction: 0.3, skipHardest: 0.2)
        let scores: [Double] = [1, 9, 3, 8, 2, 7, 4, 6, 5, 0]   // ranks: 9, 8 skipped; 7, 6, 5 kept
        XCTAssertEqual(selection.choose(scores), [5, 7, 8])
        XCTAssertNil(selection.problem)
        XCTAssertNotNil(SLMDataSelection(context: 4, fraction: 0.95, skipHardest: 0.1).problem)
        XCTAssertNotNil(SLMDataSelection(context: 4, fraction: 0, skipHardest: 0).problem)
    }

    /// A window's score is its mean next-token cross-entropy, the number crossEntropy gives for that row alone.
    func testScoresAreEachWindowsMeanCrossEntropy() {
        var generator = RandomGenerator(seed: 4)
        let model = GPTModel(GPTConfig(vocabSize: 40, contextLength: 8, layers: 1, dModel: 16, heads: 2), generator: &generator)
        model.eval()
        let shard = (0..<27).map { Int32(($0 * 7 + 3) % 40) }
        let scores = SLMDataSelection(context: 8, fraction: 1, skipHardest: 0).scores(model, shards: [shard])
        XCTAssertEqual(scores.count, 3)
        for (index, score) in scores.enumerated() {
            let window = Array(shard[(index * 9)..<(index * 9 + 9)])
            let loss = noGrad {
                crossEntropy(model.forward(tokens: IntTensor(Array(window.prefix(8)), shape: [1, 8])).reshaped([8, 40]),
                             targets: IntTensor(Array(window.suffix(8)), shape: [8])).item
            }
            XCTAssertEqual(score, Double(loss), accuracy: 1e-5)
        }
    }

    /// `pretrain distill select` writes a corpus of the chosen windows that a mixture with phases trains on.
    func testTheSelectedCorpusTrainsInAPhasedMixture() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writeTinyRecipe(in: root, layers: 1, optim: "{batch_size: 4}",
                                       train: "{steps: 6, eval_every: 6, log_every: 1, checkpoint_every: 6}")
        XCTAssertEqual(try runPretrain(["train", "tiny.yaml", "--run-dir", "small"], in: root).status, 0)
        let select = try runPretrain(["distill", "select", "small", "--data", "corpus", "--context", "8", "--fraction", "0.25",
                                      "--out", "hard"], in: root)
        XCTAssertEqual(select.status, 0, select.output)
        XCTAssertTrue(select.output.contains("selected 167 of 666 windows"), select.output)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("hard/corpus.json"))) as! [String: Any]
        XCTAssertEqual(manifest["train_tokens"] as? Int, 167 * 9)
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("hard/val_000000.bin").path))
        try """
            model: {layers: 1, d_model: 16, heads: 2, context: 8}
            data:
              corpus: corpus
              mixture: {hard: {corpus: hard}, full: {corpus: corpus}}
              phases: [{until: 3, weights: {hard: 1}}, {weights: {full: 1}}]
            optim: {batch_size: 4}
            train: {steps: 6, eval_every: 6, log_every: 1, checkpoint_every: 6}
            """.write(to: root.appendingPathComponent("salt.yaml"), atomically: true, encoding: .utf8)
        let train = try runPretrain(["train", "salt.yaml", "--run-dir", "salt"], in: root)
        XCTAssertEqual(train.status, 0, train.output)
        let bad = try runPretrain(["distill", "select", "small", "--data", "nowhere", "--context", "8", "--fraction", "0.25",
                                   "--out", "x"], in: root)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.output.contains("nowhere"), bad.output)
    }
}
