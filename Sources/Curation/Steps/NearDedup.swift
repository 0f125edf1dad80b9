import Foundation

/// `near_dedup`: MinHash-LSH near-duplicate removal. The corpus pass computes each document's MinHash signature
/// (`bands` × `rows` permutations of its shingles, see `MinHasher`); documents whose signatures agree on all `rows`
/// values of some band are candidates (Indyk–Motwani banding: the chance of that is 1 − (1 − J^rows)^bands for
/// Jaccard J), and a candidate pair is merged when the signatures' estimated Jaccard is ≥ `threshold`. Merged pairs
/// form clusters (union-find); the first document of each cluster is kept and the others are dropped
/// ("near_duplicate"). near_dup_clusters.jsonl in the output directory lists every cluster: its members' indices,
/// origins, estimated Jaccard to the kept one and the start of their text.
///
/// Keys [defaults]: `shingle` [words] — words or characters; `shingle_size` [5]; `bands` [32]; `rows` [4];
/// `threshold` [0.7], in (0, 1]; `seed` [1] — of the permutations. With the defaults a pair at Jaccard 0.7 is a
/// candidate with probability 0.9998, at 0.3 with 0.23 (then rejected by the estimate). Memory: 4 × bands × rows
/// bytes per document (512 at the defaults) for the signatures.
public final class NearDedup: CurationStep {
    public static let kind = "near_dedup"
    public static let keys = ["shingle", "shingle_size", "bands", "rows", "threshold", "seed"]

    public let bands: Int
    public let rows: Int
    public let threshold: Double
    public var needsCorpusPass: Bool { true }
    /// In a bucket, a document is compared with at most this many earlier ones that matched nothing there.
    static let maxRepresentatives = 16

    private var hasher: MinHasher
    private var permutations: Int { bands * rows }
    /// Signatures of the documents observed with at least one shingle, one after the other.
    private var signatures: [UInt32] = []
    /// The document index of each signature.
    private var observed: [Int] = []
    /// Dropped document → (the kept one, their estimated Jaccard).
    private var duplicateOf: [Int: (kept: Int, jaccard: Double)] = [:]
    /// Clusters as document indices, the kept one first; their members' descriptions, filled in as `apply` sees them.
    private var clusters: [[Int]] = []
    private var clusterJaccard: [Int: Double] = [:]
    private var descriptions: [Int: MetaValue] = [:]

    public init(settings: StepSettings) throws {
        let shingle = try settings.choice("shingle", MinHasher.Shingle.self) ?? .words
        let size = try settings.int("shingle_size") ?? 5
        bands = try settings.int("bands") ?? 32
        rows = try settings.int("rows") ?? 4
        threshold = try settings.double("threshold") ?? 0.7
        let seed = try settings.int("seed") ?? 1
        guard (1...1000).contains(size) else { throw settings.problem("shingle_size", "must be in 1…1000, got \(size)") }
        guard bands >= 1 else { throw settings.problem("bands", "must be ≥ 1, got \(bands)") }
        guard rows >= 1 else { throw settings.problem("rows", "must be ≥ 1, got \(rows)") }
        guard bands <= 4096 && rows <= 4096 && bands * rows <= 4096 else { throw settings.problem("bands", "× rows must be ≤ 4096 permutations, got \(bands) × \(rows)") }
        guard threshold > 0 && threshold <= 1 else { throw settings.problem("threshold", "must be in (0, 1], got \(threshold)") }
        guard seed >= 0 else { throw settings.problem("seed", "must be ≥ 0, got \(seed)") }
        hasher = MinHasher(shingle: shingle, size: size, permutations: bands * rows, seed: UInt64(seed))
    }

    public func observe(_ document: CurationDocument) throws {
        if hasher.appendSignature(of: document.text, to: &signatures) { observed.append(document.index) }
    }

    public func finishObserving() throws {
        let count = observed.count
        var sets = UnionFind(count: count)
        signatures.withUnsafeBufferPointer { all in
            func signature(_ slot: Int) -> UnsafeBufferPointer<UInt32> {
                UnsafeBufferPointer(rebasing: all[(slot * permutations)..<((slot + 1) * permutations)])
            }
            // Per band: (bucket hash << 32 | slot), sorted, so each bucket's members are one run in slot order.
            var keys = [UInt64](repeating: 0, count: count)
            var representatives: [Int] = []
            for band in 0..<bands {
                for slot in 0..<count {
                    var h = UInt64(band) &* 0x9E37_79B9_7F4A_7C15
                    let base = slot * permutations + band * rows
                    for row in 0..<rows { h = (h ^ UInt64(all[base + row])) &* 0xFF51_AFD7_ED55_8CCD }
                    keys[slot] = (mix64(h) & 0xFFFF_FFFF_0000_0000) | UInt64(slot)
                }
                keys.sort()
                var runStart = 0
                while runStart < count {
                    var runEnd = runStart + 1
                    while runEnd < count, keys[runEnd] >> 32 == keys[runStart] >> 32 { runEnd += 1 }
                    if runEnd - runStart > 1 {
                        representatives.removeAll(keepingCapacity: true)
                        for position in runStart..<runEnd {
                            let slot = Int(keys[position] & 0xFFFF_FFFF)
                            let root = sets.root(slot)
                            if representatives.contains(where: { sets.root($0) == root }) { continue }
                            if let match = representatives.first(where: {
                                MinHasher.estimatedJaccard(signature(slot), signature($0)) >= threshold
                            }) {
                                sets.union(slot, match)
                            } else if representatives.count < Self.maxRepresentatives {
                                representatives.append(slot)
                            }
                        }
                    }
                    runStart = runEnd
                }
            }
            var members: [Int: [Int]] = [:]
            for slot in 0..<count {
                let root = sets.root(slot)
                if root != slot { members[root, default: []].append(slot) }
            }
            for root in members.keys.sorted() {
                let kept = observed[root]
                var cluster = [kept]
                clusterJaccard[kept] = 1
                for slot in members[root]! {
                    let jaccard = MinHasher.estimatedJaccard(signature(slot), signature(root))
                    duplicateOf[observed[slot]] = (kept, jaccard)
                    clusterJaccard[observed[slot]] = jaccard
                    cluster.append(observed[slot])
                }
                clusters.append(cluster)
            }
        }
        signatures = []
    }

    public func apply(to document: inout CurationDocument) throws -> StepVerdict {
        if let jaccard = clusterJaccard[document.index] {
            let snippet = Self.snippet(document.text)
            descriptions[document.index] = .object([
                "index": .number(Double(document.index)), "origin": .string(document.origin),
                "jaccard": .number((jaccard * 1000).rounded() / 1000), "snippet": .string(snippet),
            ])
        }
        guard let duplicate = duplicateOf[document.index] else { return .keep }
        return .drop(DropReason("near_duplicate", String(format: "near_dedup: a near-duplicate of document %d (estimated Jaccard %.2f)",
                                                         duplicate.kept, duplicate.jaccard)))
    }

    /// The first 160 characters (Unicode scalars) of a text on one line, for people to recognise it by.
    static func snippet(_ text: String) -> String {
        var text = text
        return text.withUTF8 { bytes in
            var end = 0, scalars = 0
            while end < bytes.count {
                if bytes[end] & 0xC0 != 0x80 {
                    if scalars == 160 { break }
                    scalars += 1
                }
                end += 1
            }
            return String(decoding: bytes[..<end].map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }, as: UTF8.self)
        }
    }

    /// The clusters found (document indices, the kept one first), in the order of their kept documents.
    public var duplicateClusters: [[Int]] { clusters }

    public func writeArtifacts(into directory: URL) throws {
        let writer = try BufferedFileWriter(directory.appendingPathComponent("near_dup_clusters.jsonl"))
        for (number, cluster) in clusters.enumerated() {
            let record: [String: MetaValue] = [
                "cluster": .number(Double(number)), "kept": .number(Double(cluster[0])), "size": .number(Double(cluster.count)),
                "members": .array(cluster.map { descriptions[$0] ?? .object(["index": .number(Double($0))]) }),
            ]
            appendJSONObject(record, to: &writer.buffer)
            writer.buffer.append(0x0A)
            try writer.flushIfFull()
        }
        try writer.close()
    }
}
