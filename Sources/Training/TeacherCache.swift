import FileErrors
import Foundation
import Layers
import Objectives
import Tensors

/// A teacher's top-k next-token log-probabilities over a corpus' train windows, computed once
/// (`pretrain distill cache`) and read back by `objective.distill.cache` instead of running the teacher every step.
///
/// The windows are those of sequential sampling: in each train shard, T + 1 tokens starting at every multiple of T
/// (the batcher's stride). A directory holds cache.json (`TeacherCache.Header`), windows.bin (W × (T+1) Int32: the
/// windows, which key the lookup, so identical windows share an entry), ids.bin (W × T × K Int32) and logprobs.bin
/// (W × T × K Float32: log-softmax at τ = 1), all little-endian; it is written beside and renamed into place.
public final class TeacherCache: CachedTeacherOutputs {
    public struct Header: Codable, Equatable {
        public var format = 1
        public var context: Int
        public var topK: Int
        public var vocabSize: Int
        public var windows: Int
        public var teacher: String
        public var corpus: String
        public var corpusTrainTokens: Int

        enum CodingKeys: String, CodingKey {
            case format, context, topK = "top_k", vocabSize = "vocab_size", windows, teacher, corpus
            case corpusTrainTokens = "corpus_train_tokens"
        }
    }

    public let header: Header
    private let ids: Data, logProbabilities: Data
    private let index: [[Int32]: Int]

    public var topK: Int { header.topK }

    /// The windows of sequential sampling over `shards` with context T.
    public static func windows(_ shards: [[Int32]], context: Int) -> [ArraySlice<Int32>] {
        tokenWindows(shards, length: context + 1, stride: context)
    }

    /// Reads the header of `directory` (cheap: recipe checks use it).
    public static func header(_ directory: URL) throws -> Header {
        let url = directory.appendingPathComponent("cache.json")
        do { return try JSONDecoder().decode(Header.self, from: Data(contentsOf: url)) } catch {
            throw TrainingError("\(url.path): not a teacher cache (\(FileError.reason(error, path: url.path))); write one with pretrain distill cache")
        }
    }

    /// Opens a cache, memory-mapping its arrays, after checking their sizes against the header.
    public init(_ directory: URL) throws {
        header = try Self.header(directory)
        let (w, t, k) = (header.windows, header.context, header.topK)
        func mapped(_ name: String, bytes: Int) throws -> Data {
            let url = directory.appendingPathComponent(name)
            let data: Data
            do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
                throw TrainingError("\(url.path): cannot read the teacher cache (\(FileError.reason(error, path: url.path)))")
            }
            guard data.count == bytes else {
                throw TrainingError("\(url.path) holds \(data.count) bytes, its cache.json says \(bytes): the cache is truncated or damaged; write it again")
            }
            return data
        }
        let windows = try mapped("windows.bin", bytes: w * (t + 1) * 4)
        ids = try mapped("ids.bin", bytes: w * t * k * 4)
        logProbabilities = try mapped("logprobs.bin", bytes: w * t * k * 4)
        var index: [[Int32]: Int] = [:]
        windows.withUnsafeBytes { raw in
            let values = raw.bindMemory(to: Int32.self)
            for window in 0..<w where index[Array(values[(window * (t + 1))..<((window + 1) * (t + 1))])] == nil {
                index[Array(values[(window * (t + 1))..<((window + 1) * (t + 1))])] = window
            }
        }
        self.index = index
    }

    /// The teacher's top-k ids and log-probabilities for each position of `window` (T + 1 tokens), or nil when the
    /// window is not one of the cache's.
    public func topK(_ window: [Int32]) -> (indices: [Int32], logProbabilities: [Float])? {
        guard let entry = index[window] else { return nil }
        let count = header.context * header.topK
        let ids = self.ids.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)[(entry * count)..<((entry + 1) * count)]) }
        let values = logProbabilities.withUnsafeBytes { Array($0.bindMemory(to: Float.self)[(entry * count)..<((entry + 1) * count)]) }
        return (ids, values)
    }

    /// Runs `teacher` over the sequential windows of the prepared corpus `corpus` and writes the cache into `out`.
    @discardableResult
    public static func write(teacher: GPTModel, teacherPath: String, corpus: URL, context: Int, topK: Int, out: URL,
                             batchSize: Int = 16, progress: (Int, Int) -> Void = { _, _ in }) throws -> Header {
        guard context >= 1, context <= teacher.config.contextLength else {
            throw TrainingError("--context must be in 1…\(teacher.config.contextLength) (the teacher's positions), got \(context)")
        }
        guard topK >= 1 && topK <= teacher.config.vocabSize else {
            throw TrainingError("--top-k must be in 1…\(teacher.config.vocabSize), got \(topK)")
        }
        var data = DataSection()
        data.corpus = corpus.path
        let loaded = try TrainingCorpus.load(data)
        guard loaded.vocabularySize == teacher.config.vocabSize else {
            throw TrainingError("\(corpus.path) has a vocabulary of \(loaded.vocabularySize), the teacher \(teacher.config.vocabSize): distillation needs the same tokenizer")
        }
        let windows = Self.windows(loaded.trainShards, context: context)
        guard !windows.isEmpty else { throw TrainingError("\(corpus.path): no train window of \(context + 1) tokens") }
        let partial = out.deletingLastPathComponent().appendingPathComponent(".\(out.lastPathComponent).partial")
        try? FileManager.default.removeItem(at: partial)
        try FileError.createDirectory(partial)
        var windowBytes = Data(), idBytes = Data(), valueBytes = Data()
        teacher.freeze()
        var done = 0
        forEachWindowBatch(windows, model: teacher, batchSize: batchSize) { tokens, logProbabilities in
            let vocabulary = teacher.config.vocabSize
            for row in 0..<(tokens.shape[0] * context) {
                let line = logProbabilities.data + row * vocabulary
                for id in topIndices(line, count: vocabulary, k: topK) {
                    withUnsafeBytes(of: Int32(id).littleEndian) { idBytes.append(contentsOf: $0) }
                    withUnsafeBytes(of: line[id].bitPattern.littleEndian) { valueBytes.append(contentsOf: $0) }
                }
            }
            for token in tokens.values { withUnsafeBytes(of: token.littleEndian) { windowBytes.append(contentsOf: $0) } }
            done += tokens.shape[0]
            progress(done, windows.count)
        }
        for (name, bytes) in [("windows.bin", windowBytes), ("ids.bin", idBytes), ("logprobs.bin", valueBytes)] {
            try FileError.wrap("write", path: partial.appendingPathComponent(name).path) {
                try bytes.write(to: partial.appendingPathComponent(name))
            }
        }
        let header = Header(context: context, topK: topK, vocabSize: teacher.config.vocabSize, windows: windows.count,
                            teacher: teacherPath, corpus: corpus.path, corpusTrainTokens: loaded.trainTokenCount)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileError.wrap("write", path: partial.appendingPathComponent("cache.json").path) {
            try encoder.encode(header).write(to: partial.appendingPathComponent("cache.json"))
        }
        if FileManager.default.fileExists(atPath: out.path) {
            try FileError.wrap("replace", path: out.path) { try FileManager.default.removeItem(at: out) }
        }
        try FileError.wrap("rename into place", path: out.path) { try FileManager.default.moveItem(at: partial, to: out) }
        return header
    }
}

/// The ids of the k largest of `values[0..<count]`, largest first (ties: the smaller id first): an insertion into a
/// sorted list of k, which a value below the list's last skips.
public func topIndices(_ values: UnsafePointer<Float>, count: Int, k: Int) -> [Int] {
    var top: [Int] = []
    top.reserveCapacity(k + 1)
    for id in 0..<count {
        let value = values[id]
        if top.count == k, value <= values[top[k - 1]] { continue }
        var position = top.count
        while position > 0 && values[top[position - 1]] < value { position -= 1 }
        top.insert(id, at: position)
        if top.count > k { top.removeLast() }
    }
    return top
}
