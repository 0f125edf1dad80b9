import Foundation

/// Small synthetic token corpora for the trainer and study tests: a sparse Markov chain over `vocabularySize` tokens
/// (each token has three likely successors), so that a tiny model has something to learn within a few dozen steps.
public enum SyntheticCorpus {
    public static func markovTokens(count: Int, vocabularySize: Int, seed: UInt64) -> [Int32] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next() -> UInt64 {   // xorshift64*: independent of the engine's generator
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }
        var tokens: [Int32] = []
        tokens.reserveCapacity(count)
        var current = 1
        for _ in 0..<count {
            let draw = Int(next() % 10)
            // 0 is the end-of-text token: documents of a few dozen tokens.
            if draw == 9 && next() % 4 == 0 { current = 0 } else {
                let successor = [1, 2, 5][min(draw, 9) % 3]
                current = 1 + (current * 7 + successor * (draw < 8 ? 1 : 3)) % (vocabularySize - 1)
            }
            tokens.append(Int32(current))
        }
        return tokens
    }

    /// Writes a prepared corpus directory (llm.c shards + corpus.json, and `tokenizer` as tokenizer.json when
    /// given) as `pretrain tokenize` does; another `seed` gives other text (train from `seed`, val from `seed + 1`).
    public static func writePrepared(to directory: URL, trainTokens: Int = 6000, valTokens: Int = 800,
                                     vocabularySize: Int = 64, seed: UInt64 = 1, tokenizer: String? = nil) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let train = markovTokens(count: trainTokens, vocabularySize: vocabularySize, seed: seed)
        let val = markovTokens(count: valTokens, vocabularySize: vocabularySize, seed: seed + 1)
        try writeShard(train, to: directory.appendingPathComponent("train_000000.bin"))
        try writeShard(val, to: directory.appendingPathComponent("val_000000.bin"))
        if let tokenizer { try Data(tokenizer.utf8).write(to: directory.appendingPathComponent("tokenizer.json")) }
        let info: [String: Any] = [
            "tokenizer": "tokenizer.json", "vocab_size": vocabularySize, "eot_token": 0, "train_tokens": trainTokens,
            "val_tokens": valTokens, "train_bytes": trainTokens * 4, "val_bytes": valTokens * 4, "train_documents": 1,
            "val_documents": 1, "files": [String](), "skipped": [[String: String]](),
        ]
        try JSONSerialization.data(withJSONObject: info, options: [.prettyPrinted, .sortedKeys])
            .write(to: directory.appendingPathComponent("corpus.json"))
    }

    /// llm.c format: 256 little-endian Int32 header (magic 20240520, version 1, count), then UInt16 tokens.
    public static func writeShard(_ tokens: [Int32], to url: URL) throws {
        var header = [Int32](repeating: 0, count: 256)
        header[0] = 20_240_520
        header[1] = 1
        header[2] = Int32(tokens.count)
        var data = Data()
        for value in header { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        for token in tokens { withUnsafeBytes(of: UInt16(token).littleEndian) { data.append(contentsOf: $0) } }
        try data.write(to: url)
    }
}
