import Foundation

/// GPT-2's byte-level BPE (Radford et al. 2019, §2.2; Sennrich et al. 2016): text is cut into pieces by
/// `GPT2PreTokenizer`, each piece's UTF-8 bytes start as one token each, and merges are applied lowest rank
/// first (leftmost first among equal ranks) until none applies. Added tokens such as `<|endoftext|>` are matched
/// in the raw text before pre-tokenisation.
///
/// Encoding caches each distinct piece's ids, so text with a Zipfian vocabulary costs a hash lookup per piece.
/// `encode` and `decode` may be called from several threads (the cache is behind a lock).
public final class ByteLevelBPETokenizer: Tokenizer {
    /// Token strings by id as tokenizer.json writes them: byte-level strings ("Ġthe"), added tokens verbatim,
    /// "" for an id nothing names.
    public let vocabulary: [String]
    /// Merge rules by rank, as pairs of ids.
    public let merges: [(left: Int, right: Int)]
    public let addedTokens: [AddedToken]
    /// Hugging Face ByteLevel `add_prefix_space`: a space is put before text that does not start with one.
    public let addPrefixSpace: Bool
    /// Hugging Face BPE `ignore_merges`: a piece that is itself in the vocabulary becomes that one token.
    public let ignoreMerges: Bool
    public let unknownToken: String?

    public var vocabularySize: Int { vocabulary.count }

    private let tokenIDs: [String: Int]
    let inModelVocabulary: [Bool]                 // false for added tokens that model.vocab does not list
    private let tokenBytes: [[UInt8]]             // what each id decodes to
    private let byteIDs: [Int32]                  // the single-byte token of each byte value, -1 if none
    private let mergeTable: [UInt64: UInt64]      // left << 32 | right  →  rank << 32 | merged id
    private let unknownID: Int32?
    private let matcher: AddedTokenMatcher

    // Encoding state, guarded by `lock`.
    private let lock = NSLock()
    private var cache = ByteStringTable(capacity: 1 << 14)
    private var cachedIDs: [Int32] = []
    private var cachedEnds: [Int] = []
    private var pieceEnds: [Int] = []
    private static let cacheArenaLimit = 64 << 20

    /// A tokenizer from token strings (byte-level form) with their ids, merges in rank order, and added tokens.
    /// Errors name `source` (a file path when loading) and the offending key.
    public init(vocabulary: [String: Int], merges: [(String, String)], addedTokens: [AddedToken] = [],
                addPrefixSpace: Bool = false, ignoreMerges: Bool = false, unknownToken: String? = nil,
                source: String = "tokenizer") throws {
        func failure(_ key: String, _ message: String) -> TokenizerFileError {
            TokenizerFileError(file: source, key: key, message: message)
        }
        try checkTokenIDs(vocabulary, addedTokens, source: source)
        var size = (vocabulary.values.max() ?? -1) + 1
        for token in addedTokens { size = max(size, token.id + 1) }
        var strings = [String](repeating: "", count: size)
        for (token, id) in vocabulary { strings[id] = token }
        var ids = vocabulary
        for token in addedTokens {
            if !strings[token.id].isEmpty && strings[token.id] != token.content {
                throw failure("added_tokens", "id \(token.id) is \"\(token.content)\" but model.vocab gives it to \"\(strings[token.id])\"")
            }
            strings[token.id] = token.content
            ids[token.content] = token.id
        }
        let added = Set(addedTokens.map(\.id))
        var listed = [Bool](repeating: false, count: size)
        for id in vocabulary.values { listed[id] = true }
        self.inModelVocabulary = listed
        self.vocabulary = strings
        self.tokenIDs = ids
        self.tokenBytes = strings.enumerated().map { id, token in
            added.contains(id) ? Array(token.utf8) : ByteLevelAlphabet.decode(token) ?? Array(token.utf8)
        }
        self.byteIDs = (0..<256).map { byte in
            vocabulary[ByteLevelAlphabet.encode([UInt8(byte)])].map { Int32($0) } ?? -1
        }
        var table = [UInt64: UInt64](minimumCapacity: merges.count)
        var rankedPairs = [(left: Int, right: Int)]()
        rankedPairs.reserveCapacity(merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let leftID = vocabulary[left] else { throw failure("model.merges[\(rank)]", "\"\(left)\" is not in model.vocab") }
            guard let rightID = vocabulary[right] else { throw failure("model.merges[\(rank)]", "\"\(right)\" is not in model.vocab") }
            guard let mergedID = vocabulary[left + right] else {
                throw failure("model.merges[\(rank)]", "the merge \"\(left + right)\" is not in model.vocab")
            }
            // A repeated pair keeps its last rank, as Hugging Face's merge map does.
            table[Self.pairKey(Int32(leftID), Int32(rightID))] = UInt64(rank) << 32 | UInt64(mergedID)
            rankedPairs.append((leftID, rightID))
        }
        self.mergeTable = table
        self.merges = rankedPairs
        self.addedTokens = addedTokens.sorted { $0.id < $1.id }
        self.addPrefixSpace = addPrefixSpace
        self.ignoreMerges = ignoreMerges
        self.unknownToken = unknownToken
        if let unknownToken {
            guard let id = ids[unknownToken] else { throw failure("model.unk_token", "\"\(unknownToken)\" is not in model.vocab") }
            self.unknownID = Int32(id)
        } else {
            self.unknownID = nil
        }
        self.matcher = AddedTokenMatcher(addedTokens)
    }

    @inline(__always)
    private static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    // MARK: Lookup

    /// The id of a token string (byte-level form, or an added token's content).
    public func id(of token: String) -> Int? { tokenIDs[token] }

    /// The string of an id as the vocabulary stores it.
    public func token(of id: Int) -> String? { vocabulary.indices.contains(id) ? vocabulary[id] : nil }

    /// The bytes an id stands for.
    public func bytes(of id: Int) -> [UInt8] { tokenBytes.indices.contains(id) ? tokenBytes[id] : [] }

    public func specialTokenID(_ token: String) -> Int? {
        addedTokens.first { $0.content == token }?.id
    }

    /// Whether a token begins a word, for whole-word masking: it starts with whitespace (GPT-2 pieces carry the
    /// space before a word) or is an added token.
    public func isWordStart(_ id: Int) -> Bool {
        guard tokenBytes.indices.contains(id), let first = tokenBytes[id].first else { return false }
        return first == 0x20 || first == 0x0A || first == 0x09 || first == 0x0D || addedTokens.contains { $0.id == id }
    }

    /// Merges as token strings, in rank order (the form tokenizer.json stores).
    public var mergeStrings: [(String, String)] { merges.map { (vocabulary[$0.left], vocabulary[$0.right]) } }

    // MARK: Encode

    public func encode(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { bytes in
            lock.lock()
            defer { lock.unlock() }
            var ids = [Int]()
            ids.reserveCapacity(bytes.count / 3 + 8)
            matcher.split(bytes, text: { range in
                encodeOrdinary(UnsafeBufferPointer(rebasing: bytes[range]), into: &ids)
            }, token: { id in
                ids.append(id)
            })
            return ids
        }
    }

    /// Encodes text that holds no added tokens. Caller holds the lock.
    private func encodeOrdinary(_ bytes: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        if addPrefixSpace && bytes.first != UInt8(ascii: " ") {
            var spaced = [UInt8(ascii: " ")] + Array(bytes)
            spaced.withUnsafeMutableBufferPointer { encodePieces(UnsafeBufferPointer($0), into: &ids) }
        } else {
            encodePieces(bytes, into: &ids)
        }
    }

    private func encodePieces(_ bytes: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        pieceEnds.removeAll(keepingCapacity: true)
        GPT2PreTokenizer.split(bytes, appendingEndsTo: &pieceEnds)
        var start = 0
        for end in pieceEnds {
            let piece = UnsafeBufferPointer(rebasing: bytes[start..<end])
            start = end
            let hash = ByteStringTable.hash(piece)
            var index = cache.find(piece, hash: hash)
            if index == nil {
                if cache.arenaBytes > Self.cacheArenaLimit {
                    cache.removeAll()
                    cachedIDs.removeAll(keepingCapacity: true)
                    cachedEnds.removeAll(keepingCapacity: true)
                }
                cachedIDs.append(contentsOf: mergePiece(piece))
                cachedEnds.append(cachedIDs.count)
                index = cache.insert(piece, hash: hash)
            }
            let i = index!
            cachedIDs.withUnsafeBufferPointer { cached in
                for k in (i == 0 ? 0 : cachedEnds[i - 1]) ..< cachedEnds[i] { ids.append(Int(cached[k])) }
            }
        }
    }

    /// BPE on one piece: its bytes as single-byte tokens, then the lowest-ranked applicable merge, leftmost
    /// first, until none applies (Hugging Face's `Word::merge_all`, without dropout).
    func mergePiece(_ piece: UnsafeBufferPointer<UInt8>) -> [Int32] {
        var symbols = [Int32]()
        symbols.reserveCapacity(piece.count)
        for byte in piece {
            let id = byteIDs[Int(byte)]
            if id >= 0 { symbols.append(id) } else if let unknownID { symbols.append(unknownID) }
        }
        if ignoreMerges, let id = tokenIDs[ByteLevelAlphabet.encode(piece)] { return [Int32(id)] }
        let n = symbols.count
        if n < 2 { return symbols }

        var next = [Int](1...n), previous = [Int](-1..<(n - 1))
        next[n - 1] = -1
        var alive = [Bool](repeating: true, count: n)
        var queue = MinHeap()  // rank << 32 | position
        func enqueue(_ position: Int) {
            if let merge = mergeTable[Self.pairKey(symbols[position], symbols[next[position]])] {
                queue.push(merge & 0xFFFF_FFFF_0000_0000 | UInt64(position))
            }
        }
        for position in 0..<(n - 1) { enqueue(position) }
        while let top = queue.pop() {
            let position = Int(top & 0xFFFF_FFFF)
            let right = next[position]
            guard alive[position], right >= 0,
                  let merge = mergeTable[Self.pairKey(symbols[position], symbols[right])],
                  merge >> 32 == top >> 32 else { continue }  // stale: a neighbour was merged since
            symbols[position] = Int32(truncatingIfNeeded: merge & 0xFFFF_FFFF)
            alive[right] = false
            next[position] = next[right]
            if next[right] >= 0 { previous[next[right]] = position }
            if previous[position] >= 0 { enqueue(previous[position]) }
            if next[position] >= 0 { enqueue(position) }
        }
        var merged = [Int32]()
        var position = 0
        while position >= 0 {
            merged.append(symbols[position])
            position = next[position]
        }
        return merged
    }

    // MARK: Decode

    public func decode(_ ids: [Int]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(ids.count * 4)
        for id in ids where tokenBytes.indices.contains(id) { bytes.append(contentsOf: tokenBytes[id]) }
        return String(decoding: bytes, as: UTF8.self)  // invalid UTF-8 (a cut multi-byte character) becomes U+FFFD
    }
}

/// A binary min-heap of UInt64 keys.
struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ item: UInt64) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent] <= items[child] { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < items.count && items[left] < items[smallest] { smallest = left }
                if right < items.count && items[right] < items[smallest] { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}
