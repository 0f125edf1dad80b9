/// Trains a byte-level BPE the way Hugging Face `tokenizers` (BpeTrainer, tokenizers/src/models/bpe/trainer.rs)
/// does, so that the same text and settings give the same vocabulary and merges:
///
/// - ids: the special tokens first, in the order given, then the 256 byte tokens ordered by their byte-level
///   character (`ByteLevelAlphabet.bytesInScalarOrder`), then one id per new merged string;
/// - words are the distinct pre-tokenised pieces, weighted by how often they occur;
/// - each step merges the pair of adjacent tokens with the highest count, a tie going to the smaller
///   (left id, right id); it stops at the vocabulary size, or when the best count is below `minFrequency`.
///
/// The bookkeeping copies BpeTrainer's exactly, quirks included, because they decide ties: candidate pairs sit
/// in a max-heap with the word indices where they were seen; a popped entry whose count is out of date is pushed
/// back with the current count; a merge is applied only to the words its entry lists; the merged pair's own
/// count is not decreased. When two different merges produce the same string, the string keeps one id and a
/// pair can then be merged twice; the merge list keeps its last rank, as tokenizers' merge map does.
///
/// One difference: special tokens in the training text are cut out before pre-tokenisation (BpeTrainer would
/// learn merges from their characters).
public struct BPETrainer {
    public let vocabularySize: Int
    public let minFrequency: Int
    public let specialTokens: [String]

    private var words = ByteStringTable(capacity: 1 << 16)
    private var wordCounts: [Int] = []
    private var pieceEnds: [Int] = []
    private let matcher: AddedTokenMatcher

    public init(vocabularySize: Int, minFrequency: Int = 2, specialTokens: [String] = ["<|endoftext|>"]) {
        self.vocabularySize = vocabularySize
        self.minFrequency = minFrequency
        self.specialTokens = specialTokens
        matcher = AddedTokenMatcher(specialTokens.enumerated().map { AddedToken(id: $0.offset, content: $0.element) })
    }

    /// Counts the pieces of one document (one sequence, in Hugging Face's terms).
    public mutating func add(_ document: String) {
        var document = document
        document.withUTF8 { bytes in
            var stretches = [Range<Int>]()
            matcher.split(bytes, text: { stretches.append($0) }, token: { _ in })
            for stretch in stretches { countPieces(UnsafeBufferPointer(rebasing: bytes[stretch])) }
        }
    }

    private mutating func countPieces(_ bytes: UnsafeBufferPointer<UInt8>) {
        pieceEnds.removeAll(keepingCapacity: true)
        GPT2PreTokenizer.split(bytes, appendingEndsTo: &pieceEnds)
        var start = 0
        for end in pieceEnds {
            let piece = UnsafeBufferPointer(rebasing: bytes[start..<end])
            start = end
            let hash = ByteStringTable.hash(piece)
            if let index = words.find(piece, hash: hash) {
                wordCounts[index] += 1
            } else {
                words.insert(piece, hash: hash)
                wordCounts.append(1)
            }
        }
    }

    /// Distinct pieces counted so far.
    public var distinctWords: Int { words.count }

    /// Runs the merges and returns the tokenizer.
    public func train() -> ByteLevelBPETokenizer {
        // 1–2. Special tokens, then the byte alphabet sorted by character.
        var strings = [String]()
        var ids = [String: Int]()
        func intern(_ string: String) -> Int {
            if let id = ids[string] { return id }
            strings.append(string)
            ids[string] = strings.count - 1
            return strings.count - 1
        }
        for token in specialTokens { _ = intern(token) }
        for byte in ByteLevelAlphabet.bytesInScalarOrder { _ = intern(ByteLevelAlphabet.encode([byte])) }
        let byteIDs = (0..<256).map { Int32(ids[ByteLevelAlphabet.encode([UInt8($0)])]!) }

        // 3. Words as id sequences.
        var symbols = (0..<words.count).map { index in words.key(index).map { byteIDs[Int($0)] } }

        // 4. Pair counts and where each pair occurs.
        var pairCounts = [UInt64: Int]()
        var occurrences = [UInt64: [Int32]]()
        for (index, word) in symbols.enumerated() where word.count > 1 {
            for k in 0..<(word.count - 1) {
                let pair = pairKey(word[k], word[k + 1])
                pairCounts[pair, default: 0] += wordCounts[index]
                occurrences[pair, default: []].appendIfNew(Int32(index))
            }
        }
        var queue = PairQueue()
        for (pair, positions) in occurrences where pairCounts[pair]! > 0 {
            queue.push(.init(count: pairCounts[pair]!, pair: pair, words: positions))
        }
        occurrences.removeAll()

        // 5. Merges.
        var merges = [(pair: UInt64, merged: Int32)]()
        while ids.count < vocabularySize, var top = queue.pop() {
            let current = pairCounts[top.pair]!
            if top.count != current {
                top.count = current
                queue.push(top)
                continue
            }
            if top.count < 1 || minFrequency > top.count { break }
            let left = Int32(truncatingIfNeeded: top.pair >> 32), right = Int32(truncatingIfNeeded: top.pair)
            let merged = Int32(intern(strings[Int(left)] + strings[Int(right)]))
            merges.append((top.pair, merged))

            var changed = [UInt64: [Int32]]()
            for word in top.words {
                let weight = wordCounts[Int(word)]
                Self.merge(&symbols[Int(word)], left, right, into: merged) { pair, delta in
                    pairCounts[pair, default: 0] += delta * weight
                    if delta > 0 { changed[pair, default: []].appendIfNew(word) }
                }
            }
            for (pair, positions) in changed where pairCounts[pair]! > 0 {
                queue.push(.init(count: pairCounts[pair]!, pair: pair, words: positions))
            }
        }

        // A pair merged twice keeps its last rank.
        var lastRank = [UInt64: Int]()
        for (rank, merge) in merges.enumerated() { lastRank[merge.pair] = rank }
        let mergeStrings = merges.enumerated().filter { lastRank[$0.element.pair] == $0.offset }.map {
            (strings[Int($0.element.pair >> 32)], strings[Int($0.element.pair & 0xFFFF_FFFF)])
        }
        let added = specialTokens.map { AddedToken(id: ids[$0]!, content: $0, special: true) }
        // The strings and merges are consistent by construction, so the initialiser cannot fail.
        return try! ByteLevelBPETokenizer(vocabulary: ids, merges: mergeStrings, addedTokens: added)
    }

    /// Replaces each occurrence of (left, right) in `word`, left to right, by `merged`, reporting the pair-count
    /// changes around each replacement as BpeTrainer's `Word::merge` does (the merged pair itself is not reported).
    static func merge(_ word: inout [Int32], _ left: Int32, _ right: Int32, into merged: Int32,
                      change: (UInt64, Int) -> Void) {
        var out = [Int32]()
        out.reserveCapacity(word.count)
        var i = 0
        let n = word.count
        while i < n {
            if word[i] == left && i + 1 < n && word[i + 1] == right {
                if let previous = out.last {
                    change(pairKey(previous, left), -1)
                    change(pairKey(previous, merged), 1)
                }
                out.append(merged)
                if i + 2 < n {
                    change(pairKey(right, word[i + 2]), -1)
                    change(pairKey(merged, word[i + 2]), 1)
                }
                i += 2
            } else {
                out.append(word[i])
                i += 1
            }
        }
        word = out
    }
}

@inline(__always)
private func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
    UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
}

private extension Array where Element == Int32 {
    /// Words are visited in order, so a repeat can only be the last element.
    mutating func appendIfNew(_ word: Int32) {
        if last != word { append(word) }
    }
}

/// BpeTrainer's queue: a max-heap by count, then by the smaller pair (compared as (left id, right id)).
private struct PairQueue {
    struct Entry {
        var count: Int
        var pair: UInt64
        var words: [Int32]
    }

    private var items: [Entry] = []

    @inline(__always)
    private static func before(_ a: Entry, _ b: Entry) -> Bool {
        a.count != b.count ? a.count > b.count : a.pair < b.pair
    }

    mutating func push(_ entry: Entry) {
        items.append(entry)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if !Self.before(items[child], items[parent]) { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var first = parent
            if left < items.count && Self.before(items[left], items[first]) { first = left }
            if right < items.count && Self.before(items[right], items[first]) { first = right }
            if first == parent { break }
            items.swapAt(parent, first)
            parent = first
        }
        return top
    }
}

extension ByteLevelBPETokenizer {
    /// Trains on `documents` (each one sequence) with `BPETrainer`.
    public static func train<Documents: Sequence>(documents: Documents, vocabularySize: Int, minFrequency: Int = 2,
                                                  specialTokens: [String] = ["<|endoftext|>"]) -> ByteLevelBPETokenizer
    where Documents.Element == String {
        var trainer = BPETrainer(vocabularySize: vocabularySize, minFrequency: minFrequency, specialTokens: specialTokens)
        for document in documents { trainer.add(document) }
        return trainer.train()
    }
}
