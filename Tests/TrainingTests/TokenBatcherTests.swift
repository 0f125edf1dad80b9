import Foundation
import Tensors
import Training
import XCTest

/// Windows from shards: within one shard, reproducible from the seed, resumable from a saved state.
final class TokenBatcherTests: XCTestCase {
    /// Shard s holds s·1000 + i at position i, so a window's origin can be read off its tokens.
    private let shards: [[Int32]] = [(0..<50).map { Int32($0) }, (0..<7).map { Int32(1000 + $0) }, (0..<30).map { Int32(2000 + $0) }]

    func testRandomWindowsAreConsecutiveTokensOfOneShard() throws {
        let batcher = try TokenBatcher(shards: shards, context: 9, batchSize: 8, sampling: .random, seed: 3)
        var seenShards = Set<Int32>()
        for _ in 0..<50 {
            let batch = batcher.next()
            XCTAssertEqual(batch.shape, [8, 10])
            for row in 0..<8 {
                let window = Array(batch.values[(row * 10)..<(row * 10 + 10)])
                XCTAssertEqual(window, Array(window[0]...(window[0] + 9)), "consecutive tokens")
                XCTAssertNotEqual(window[0] / 1000, 1, "shard 1 is shorter than a window and never used")
                seenShards.insert(window[0] / 1000)
            }
        }
        XCTAssertEqual(seenShards, [0, 2])
    }

    func testTheSameSeedGivesTheSameWindowsAndAnotherSeedOthers() throws {
        let a = try TokenBatcher(shards: shards, context: 9, batchSize: 4, sampling: .random, seed: 3)
        let b = try TokenBatcher(shards: shards, context: 9, batchSize: 4, sampling: .random, seed: 3)
        let c = try TokenBatcher(shards: shards, context: 9, batchSize: 4, sampling: .random, seed: 4)
        let first = (0..<5).map { _ in a.next().values }
        XCTAssertEqual(first, (0..<5).map { _ in b.next().values })
        XCTAssertNotEqual(first, (0..<5).map { _ in c.next().values })
    }

    func testARestoredStateContinuesTheSequence() throws {
        for sampling in [DataSection.Sampling.random, .sequential] {
            let original = try TokenBatcher(shards: shards, context: 9, batchSize: 3, sampling: sampling, seed: 11)
            for _ in 0..<7 { _ = original.next() }
            let saved = try JSONDecoder().decode(BatcherState.self, from: JSONEncoder().encode(original.state))
            let restored = try TokenBatcher(shards: shards, context: 9, batchSize: 3, sampling: sampling, seed: 999)
            try restored.restore(saved)
            for _ in 0..<10 { XCTAssertEqual(restored.next().values, original.next().values, "\(sampling)") }
        }
    }

    func testSequentialWindowsOverlapByOneTokenAndWrapAround() throws {
        let batcher = try TokenBatcher(shards: shards, context: 9, batchSize: 1, sampling: .sequential, seed: 0)
        let starts = (0..<10).map { _ in batcher.next().values[0] }
        // Shard 0 (50 tokens): starts 0, 9, 18, 27, 36 (36 + 10 ≤ 50; 45 + 10 > 50); shard 1 is skipped;
        // shard 2 (30 tokens): 2000, 2009, 2018; then a new epoch.
        XCTAssertEqual(starts, [0, 9, 18, 27, 36, 2000, 2009, 2018, 0, 9])
        XCTAssertEqual(batcher.state.epoch, 1)
    }

    func testRestoringAgainstAnotherCorpusIsAnError() throws {
        let batcher = try TokenBatcher(shards: shards, context: 9, batchSize: 2, sampling: .random, seed: 1)
        let other = try TokenBatcher(shards: [shards[0]], context: 9, batchSize: 2, sampling: .random, seed: 1)
        XCTAssertThrowsError(try other.restore(batcher.state)) { XCTAssertTrue("\($0)".contains("train data changed"), "\($0)") }
    }

    func testShardsShorterThanAWindowAreAnError() {
        XCTAssertThrowsError(try TokenBatcher(shards: [[1, 2, 3]], context: 8, batchSize: 1, sampling: .random, seed: 0)) {
            XCTAssertTrue("\($0)".contains("too short"), "\($0)")
        }
    }

    func testEvaluationWindowsPredictEveryTokenOnce() {
        let batches = evaluationBatches(shards: [(0..<21).map { Int32($0) }], context: 4, batchSize: 2)
        // Windows start at 0, 4, 8, 12, 16 (16 + 5 ≤ 21): batches of 2, 2, 1.
        XCTAssertEqual(batches.map(\.shape), [[2, 5], [2, 5], [1, 5]])
        XCTAssertEqual(batches.flatMap { batch in (0..<batch.shape[0]).map { batch.values[$0 * 5] } }, [0, 4, 8, 12, 16])
        XCTAssertEqual(evaluationBatches(shards: [(0..<21).map { Int32($0) }], context: 4, batchSize: 2, limit: 2).count, 2)
    }
}
