import Foundation
import HFInterop
import Layers
import TestSupport
import TextData
import TextEvaluation
import XCTest

/// Our multiple-choice log-likelihoods against transformers' (Fixtures/choices, scripts/make_choice_fixtures.py): a
/// tiny random GPT-2 and Llama with a byte-level BPE of 512 ids, each (context, continuation) pair encoded and scored
/// as lm-evaluation-harness does — trailing whitespace moved, a merge across the boundary, non-ASCII text, a context
/// cut to the 64-position window, a greedy continuation.
final class ChoiceScoringFixtureTests: XCTestCase {
    struct Row: Decodable {
        let `case`: String
        let context: String
        let continuation: String
        let context_ids: [Int]
        let continuation_ids: [Int]
        let input_length: Int
        let log_likelihood: Double
        let greedy: Bool
    }

    struct Report: Decodable {
        let max_length: Int
        let models: [String: [Row]]
    }

    static let directory = fixtureURL("TextEvaluationTests", "choices")

    private func load(_ family: String, batchRows: Int = 16) throws -> (DecoderChoiceScorer, [Row]) {
        let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: Self.directory.appendingPathComponent("choices.json")))
        let imported = try importHuggingFace(directory: Self.directory.appendingPathComponent(family))
        let model = try XCTUnwrap(imported.gpt)
        XCTAssertEqual(model.config.contextLength, report.max_length)
        let tokenizerURL = Self.directory.appendingPathComponent("tokenizer.json")
        let scorer = try DecoderChoiceScorer(model: model, tokenizer: try loadTokenizer(tokenizerURL), source: tokenizerURL.path,
                                             batchRows: batchRows)
        return (scorer, try XCTUnwrap(report.models[family]))
    }

    /// The harness's `_encode_pair` with our tokenizer gives exactly the ids it gives with `tokenizers`.
    func testPairsEncodeToTheHarnessesTokens() throws {
        let (scorer, rows) = try load("gpt2")
        for row in rows {
            let tokens = try scorer.encoder.encode(context: row.context, continuation: row.continuation)
            XCTAssertEqual(tokens.context, row.context_ids, "\(row.case): context of \(row.continuation.debugDescription)")
            XCTAssertEqual(tokens.continuation, row.continuation_ids, "\(row.case): \(row.continuation.debugDescription)")
            XCTAssertEqual(tokens.input(window: 64).count, row.input_length, row.case)
        }
    }

    /// Every continuation's summed log-likelihood within 1e-4 of transformers', and the same greedy flag, for GPT-2 and
    /// Llama, all pairs in one padded batch.
    func testLogLikelihoodsMatchTransformers() throws {
        for family in ["gpt2", "llama"] {
            let (scorer, rows) = try load(family, batchRows: 64)
            let scored = try scorer.score(rows.map { ChoiceTokens(context: $0.context_ids, continuation: $0.continuation_ids) })
            var worst = 0.0
            for (row, result) in zip(rows, scored) {
                let difference = abs(result.logLikelihood - row.log_likelihood)
                worst = max(worst, difference)
                XCTAssertLessThan(difference, 1e-4, "\(family) \(row.case) \(row.continuation.debugDescription): "
                    + "\(result.logLikelihood) vs \(row.log_likelihood)")
                XCTAssertEqual(result.isGreedy, row.greedy, "\(family) \(row.case) \(row.continuation.debugDescription)")
                XCTAssertEqual(result.inputLength, row.input_length, "\(family) \(row.case)")
            }
            XCTAssertTrue(rows.contains(where: \.greedy), "the fixture has a greedy continuation")
            print("\(family): \(rows.count) continuations, max |Δ log-likelihood| vs transformers \(worst)")
        }
    }

    /// Padding rows to the longest in a batch changes nothing: one row per forward pass gives the same scores.
    func testBatchingDoesNotChangeTheScores() throws {
        let (batched, rows) = try load("llama", batchRows: 64)
        let (single, _) = try load("llama", batchRows: 1)
        let requests = rows.map { ChoiceTokens(context: $0.context_ids, continuation: $0.continuation_ids) }
        for (a, b) in zip(try batched.score(requests), try single.score(requests)) {
            XCTAssertEqual(a.logLikelihood, b.logLikelihood, accuracy: 1e-5)
            XCTAssertEqual(a.isGreedy, b.isGreedy)
        }
    }
}
