import Curation
import XCTest

/// exact_dedup keeps the first of identical texts; near_dedup clusters texts by MinHash-LSH and keeps each cluster's
/// first document (its recall and precision on planted duplicates are NearDedupAccuracyTests').
final class DedupTests: XCTestCase {
    func testExactDedupKeepsTheFirstCopy() throws {
        let result = try runSteps([try makeStep("exact_dedup")], documents(["a b", "c", "a b", "a  b", "c"]))
        XCTAssertEqual(result.kept.map(\.index), [0, 1, 3])
        XCTAssertEqual(result.dropped.map(\.index), [2, 4])
        XCTAssertEqual(result.dropped[0].reason, DropReason("exact_duplicate", "exact_dedup: the same text as document 0"))
    }

    func testNormalizeThenExactDedupCountsWhitespaceVariantsAsCopies() throws {
        let result = try runSteps([try makeStep("normalize"), try makeStep("exact_dedup")],
                                  documents(["a b\n", "a b  \r\n\n", "Cafe\u{301}", "Caf\u{E9}"]))
        XCTAssertEqual(result.kept.map(\.index), [0, 2])
    }

    func testNearDedupClustersEditedCopiesAndKeepsTheFirst() throws {
        let words = (0..<120).map { "word\($0 * 7919 % 1000)" }
        let base = words.joined(separator: " ")
        var edited = words
        edited[60] = "changed"
        let other = (0..<120).map { "other\($0)" }.joined(separator: " ")
        let step = try makeStep("near_dedup")
        let result = try runSteps([step], documents([other, base, edited.joined(separator: " "), other + " tail", "short text"]))
        XCTAssertEqual(result.kept.map(\.index), [0, 1, 4])
        XCTAssertEqual(result.dropped.map(\.index), [2, 3])
        XCTAssertEqual(result.dropped[0].reason.key, "near_duplicate")
        XCTAssertTrue(result.dropped[0].reason.detail.hasPrefix("near_dedup: a near-duplicate of document 1"), result.dropped[0].reason.detail)
        XCTAssertEqual((step as! NearDedup).duplicateClusters, [[0, 3], [1, 2]])
    }

    func testCharacterShinglesFindCopiesWithScatteredEdits() throws {
        // Every 10th word changed: word 5-shingles lose about half their overlap, character 5-shingles little.
        let words = (0..<200).map { "token\($0 * 31 % 997)" }
        let edited = words.enumerated().map { $0.offset % 10 == 0 ? "x" + $0.element : $0.element }
        let texts = [words.joined(separator: " "), edited.joined(separator: " ")]
        XCTAssertEqual(try runSteps([try makeStep("near_dedup")], documents(texts)).kept.count, 2)
        XCTAssertEqual(try runSteps([try makeStep("near_dedup", "shingle: characters")], documents(texts)).kept.count, 1)
    }

    func testMinHashEstimatesJaccard() {
        // Two sets of 5-word shingles sharing 300 of 500 (J = 0.6): 512 permutations estimate it within 0.07 (3.3 σ).
        let shared = (0..<300).map { "s\($0)" }
        let a = (shared + (0..<100).map { "a\($0)" }).joined(separator: " ")
        let b = (shared + (0..<100).map { "b\($0)" }).joined(separator: " ")
        var hasher = MinHasher(shingle: .words, size: 1, permutations: 512, seed: 3)
        var signatures: [UInt32] = []
        XCTAssertTrue(hasher.appendSignature(of: a, to: &signatures))
        XCTAssertTrue(hasher.appendSignature(of: b, to: &signatures))
        XCTAssertFalse(hasher.appendSignature(of: " \n ", to: &signatures))
        let estimate = signatures.withUnsafeBufferPointer {
            MinHasher.estimatedJaccard(UnsafeBufferPointer(rebasing: $0[0..<512]), UnsafeBufferPointer(rebasing: $0[512..<1024]))
        }
        XCTAssertEqual(estimate, 300.0 / 500.0, accuracy: 0.07)
    }
}
