import Curation
import Foundation
import TestSupport
import XCTest

/// near_dedup with its default keys (5-word shingles, 32 bands × 4 rows, threshold 0.7) on real text: 400 distinct
/// ~200-word passages of three plays, and 100 edited copies of some of them, each with one or two contiguous spans
/// (4–15 % of its words) replaced by other Shakespeare or deleted, planted so that the true 5-word-shingle Jaccard to
/// its original is in [0.8, 0.95]. At least 95 % of the copies must land in their original's cluster, and at most
/// 1 % of the pairs of distinct passages (and of the passages themselves) may be merged.
final class NearDedupAccuracyTests: XCTestCase {
    /// SplitMix64, for the edits (the test's own stream).
    private struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &+ 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    /// The set of 5-word shingles as MinHasher defines them (whitespace-separated, ASCII lowercased).
    private func shingles(_ words: [String]) -> Set<[String]> {
        let lower = words.map { $0.lowercased() }
        return Set((0...(lower.count - 5)).map { Array(lower[$0..<($0 + 5)]) })
    }

    private func jaccard(_ a: [String], _ b: [String]) -> Double {
        let (x, y) = (shingles(a), shingles(b))
        return Double(x.intersection(y).count) / Double(x.union(y).count)
    }

    /// Passages of about `size` words: whole lines of the plays, blank lines skipped, cut at the first line end past
    /// `size` words.
    private func passages(size: Int) throws -> [[String]] {
        var result: [[String]] = []
        for play in ["hamlet", "lear", "macbeth", "othello"] {
            let text = try String(contentsOf: repositoryRoot.appendingPathComponent("data/shakespeare/\(play).txt"), encoding: .utf8)
            var current: [String] = []
            for line in text.split(separator: "\n") {
                current += line.split(whereSeparator: \.isWhitespace).map(String.init)
                if current.count >= size {
                    result.append(current)
                    current = []
                }
            }
        }
        return result
    }

    func testPlantedNearDuplicatesAreFoundAndDistinctPassagesKeptApart() throws {
        let all = try passages(size: 200)
        XCTAssertGreaterThan(all.count, 500)
        let originals = Array(all.prefix(400))
        let fillers = all.dropFirst(400).flatMap { $0 }   // replacement words from passages not in the corpus
        var random = Random(state: 2024)

        var copies: [(original: Int, words: [String])] = []
        while copies.count < 100 {
            let original = random.next(originals.count)
            if copies.contains(where: { $0.original == original }) { continue }
            var words = originals[original]
            let spans = 1 + random.next(2)
            for _ in 0..<spans {
                let length = spans == 1 ? 8 + random.next(8) : 4 + random.next(4)
                let start = random.next(words.count - length)
                if random.next(3) == 0 {
                    words.removeSubrange(start..<(start + length))
                } else {
                    let from = random.next(fillers.count - length)
                    words.replaceSubrange(start..<(start + length), with: fillers[from..<(from + length)])
                }
            }
            let similarity = jaccard(originals[original], words)
            guard similarity >= 0.8 && similarity <= 0.95 else { continue }
            copies.append((original, words))
        }

        // The corpus: originals in order, each copy at a random place after its original.
        var corpus: [(text: String, group: Int, isCopy: Bool)] = originals.enumerated().map { ($0.element.joined(separator: " "), $0.offset, false) }
        for copy in copies {
            let at = corpus.firstIndex { $0.group == copy.original }!
            corpus.insert((copy.words.joined(separator: " "), copy.original, true), at: at + 1 + random.next(corpus.count - at))
        }
        let step = try makeStep("near_dedup")
        let result = try runSteps([step], documents(corpus.map(\.text)))
        XCTAssertEqual(result.kept.count + result.dropped.count, 500)

        var cluster = [Int](repeating: -1, count: corpus.count)
        for (number, members) in (step as! NearDedup).duplicateClusters.enumerated() { for member in members { cluster[member] = number } }
        func together(_ a: Int, _ b: Int) -> Bool { cluster[a] >= 0 && cluster[a] == cluster[b] }
        let originalPositions = corpus.indices.filter { !corpus[$0].isCopy }
        let positionOf = Dictionary(uniqueKeysWithValues: originalPositions.map { (corpus[$0].group, $0) })
        let found = corpus.indices.filter { corpus[$0].isCopy && together($0, positionOf[corpus[$0].group]!) }.count
        var falsePairs = 0, mergedOriginals = Set<Int>()
        for (i, a) in originalPositions.enumerated() {
            for b in originalPositions[(i + 1)...] where together(a, b) {
                falsePairs += 1
                mergedOriginals.formUnion([a, b])
            }
        }
        let recall = Double(found) / Double(copies.count)
        let distinctPairs = originals.count * (originals.count - 1) / 2
        print("near_dedup: \(found)/\(copies.count) planted copies found, \(falsePairs)/\(distinctPairs) distinct pairs merged")
        XCTAssertGreaterThanOrEqual(recall, 0.95)
        XCTAssertLessThanOrEqual(Double(falsePairs), 0.01 * Double(distinctPairs))
        XCTAssertLessThanOrEqual(mergedOriginals.count, 4, "distinct passages merged: \(mergedOriginals.sorted())")
    }
}
