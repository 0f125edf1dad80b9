import Composition
import Foundation
import HFInterop
import Layers
import Tensors
import TestSupport
import XCTest

/// `ComposedDecoder` against the same arithmetic in PyTorch (Fixtures/compose, scripts/make_compose_fixtures.py):
/// three tiny random GPT-2s of two sizes sharing a vocabulary, composed as log_softmax(Σ_i w_i log_softmax(logits_i))
/// with the weights of up-scaling (1, 1, −1), a half-strength difference (1, 0.5, −0.5) and the large model alone.
final class ComposedDecoderFixtureTests: XCTestCase {
    struct Report: Decodable {
        struct Composition: Decodable {
            let weights: [Float]
            let greedy: [Int]
        }
        let names: [String]
        let tokens: [[Int]]
        let prompt: [Int]
        let compositions: [Composition]
    }

    static let directory = fixtureURL("CompositionTests", "compose")

    func load() throws -> (report: Report, models: [GPTModel], expected: [String: Tensor]) {
        let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: Self.directory.appendingPathComponent("compose.json")))
        let models = try report.names.map { try XCTUnwrap(importHuggingFace(directory: Self.directory.appendingPathComponent($0)).gpt) }
        let expected = try readTensors(Self.directory.appendingPathComponent("expected.safetensors")).floats
        return (report, models, expected)
    }

    /// Whole sequences: every composed log-probability within 1e-5 of PyTorch's.
    func testComposedLogProbabilitiesMatchPyTorch() throws {
        let (report, models, expected) = try load()
        let (batch, length) = (report.tokens.count, report.tokens[0].count)
        let tokens = IntTensor(report.tokens.flatMap { $0 }, shape: [batch, length])
        for (k, composition) in report.compositions.enumerated() {
            let composed = ComposedDecoder(models: models, weights: composition.weights)
            let scores = composed.inEvaluationMode { composed.nextTokenScores(tokens: tokens, rows: Array(0..<(batch * length))) }
            let reference = try XCTUnwrap(expected["log_probs_\(k)"])
            XCTAssertEqual(scores.shape, [batch * length, 64])
            assertClose(scores.scalars, reference.scalars, atol: 1e-5, rtol: 0, "composition \(composition.weights)")
        }
    }

    /// Through the three models' KV caches, fed in chunks of 7, 1 and 12 tokens: the same log-probabilities.
    func testCachedDecodingMatchesPyTorch() throws {
        let (report, models, expected) = try load()
        let length = report.tokens[0].count
        for (k, composition) in report.compositions.enumerated() {
            let composed = ComposedDecoder(models: models, weights: composition.weights)
            let reference = try XCTUnwrap(expected["log_probs_\(k)"]).scalars
            for (b, row) in report.tokens.enumerated() {
                var rows: [Float] = []
                composed.inEvaluationMode {
                    let cache = composed.makeDecodingCache()
                    var start = 0
                    for chunk in [7, 1, 12] {
                        let piece = Array(row[start..<(start + chunk)])
                        rows += composed.nextTokenScores(tokens: IntTensor(piece, shape: [1, chunk]), cache: cache).scalars
                        start += chunk
                    }
                    XCTAssertEqual(cache.length, length)
                }
                assertClose(rows, Array(reference[(b * length * 64)..<((b + 1) * length * 64)]), atol: 1e-5, rtol: 0,
                            "composition \(composition.weights), row \(b), cached")
            }
        }
    }

    /// Greedy generation from the composition (KV caches advanced together) picks PyTorch's tokens, which it
    /// recomputed from the whole sequence at every step.
    func testGreedyGenerationFollowsPyTorch() throws {
        let (report, models, _) = try load()
        for composition in report.compositions {
            let composed = ComposedDecoder(models: models, weights: composition.weights)
            var generator = RandomGenerator(seed: 0)
            let generated = composed.generate(prompt: report.prompt, maxTokens: composition.greedy.count, temperature: 0,
                                              generator: &generator)
            XCTAssertEqual(generated, composition.greedy, "composition \(composition.weights)")
        }
    }

    /// A composition of one model with weight 1 is that model: its log-softmax, to float rounding.
    func testOneModelComposedIsTheModel() throws {
        let (report, models, _) = try load()
        let tokens = IntTensor(report.tokens[0], shape: [1, report.tokens[0].count])
        let composed = ComposedDecoder(models: [models[0]], weights: [1])
        let rows = Array(0..<report.tokens[0].count)
        let alone = noGrad { logSoftmax(models[0].nextTokenScores(tokens: tokens, rows: rows)) }
        assertClose(composed.inEvaluationMode { composed.nextTokenScores(tokens: tokens, rows: rows) }, alone, atol: 1e-6, rtol: 0, "one model")
    }

    /// Models of weight 0 are left out (not run) and the scores are those of the others alone; all-zero weights keep
    /// every model (a uniform distribution).
    func testZeroWeightModelsAreLeftOut() throws {
        let (report, models, _) = try load()
        let tokens = IntTensor(report.tokens[0], shape: [1, report.tokens[0].count])
        let rows = Array(0..<report.tokens[0].count)
        let composed = ComposedDecoder(models: models, weights: [1, 0, 0])
        XCTAssertEqual(composed.weights, [1])
        XCTAssertTrue(composed.models[0] === models[0])
        let alone = ComposedDecoder(models: [models[0]], weights: [1])
        assertClose(composed.inEvaluationMode { composed.nextTokenScores(tokens: tokens, rows: rows) },
                    alone.inEvaluationMode { alone.nextTokenScores(tokens: tokens, rows: rows) }, atol: 0, rtol: 0, "weight 0 left out")
        XCTAssertEqual(ComposedDecoder(models: models, weights: [0, 0, 0]).models.count, models.count)
    }
}
