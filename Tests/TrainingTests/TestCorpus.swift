import Foundation
import TestSupport
import Training
import XCTest

/// Small synthetic corpora for trainer tests (SyntheticCorpus's Markov chain), in memory or prepared on disk.
enum TestCorpus {
    static func markovTokens(count: Int, vocabularySize: Int, seed: UInt64) -> [Int32] {
        SyntheticCorpus.markovTokens(count: count, vocabularySize: vocabularySize, seed: seed)
    }

    /// An in-memory corpus: `shards` train shards and one val shard. Bits per byte as if 4 bytes per token.
    static func make(trainTokens: Int = 6000, valTokens: Int = 800, vocabularySize: Int = 64, shards: Int = 2) -> TrainingCorpus {
        let train = markovTokens(count: trainTokens, vocabularySize: vocabularySize, seed: 1)
        let size = trainTokens / shards
        let trainShards = (0..<shards).map { Array(train[($0 * size)..<(($0 + 1) * size)]) }
        let val = markovTokens(count: valTokens, vocabularySize: vocabularySize, seed: 2)
        return TrainingCorpus(trainShards: trainShards,
                              validation: .init(name: "val", shards: [val], bytesPerToken: 4),
                              vocabularySize: vocabularySize)
    }

    /// ROOT/corpus (prepared) and ROOT/tiny.yaml, a GPT of width 16 and context 8 reading it, with the given `optim:`
    /// and `train:` flow mappings: what the command-line tests run `pretrain train tiny.yaml` on.
    static func writeTinyRecipe(in root: URL, layers: Int, optim: String, train: String) throws {
        try writePrepared(to: root.appendingPathComponent("corpus"))
        try """
            model: {layers: \(layers), d_model: 16, heads: 2, context: 8}
            data: {corpus: corpus}
            optim: \(optim)
            train: \(train)
            """.write(to: root.appendingPathComponent("tiny.yaml"), atomically: true, encoding: .utf8)
    }

    /// ROOT/train.txt and ROOT/val.txt of short "sentences" of a few words, tokenized by `pretrain tokenize` into
    /// ROOT/corpus with a BPE of 300 that has a [MASK] token (what a BERT recipe needs).
    static func writeMaskedLMCorpus(in root: URL) throws {
        let words = ["the", "king", "queen", "speaks", "to", "a", "fool", "and", "his", "lord", "of", "night", "day", "sweet"]
        var draws = (0..<10000).map { ($0 * 7919 + 13) % words.count }.makeIterator()
        for (name, lines) in [("train.txt", 200), ("val.txt", 60)] {
            let text = (0..<lines).map { _ in (0..<12).map { _ in words[draws.next()!] }.joined(separator: " ") }.joined(separator: ".\n")
            try text.write(to: root.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let tokenize = try runPretrain(["tokenize", "--train-vocab", "300", "--special-tokens", "<|endoftext|>,[MASK]",
                                        "--val-files", "val", "--out", "corpus", "train.txt", "val.txt"], in: root)
        XCTAssertEqual(tokenize.status, 0, tokenize.output)
    }

    /// Writes a prepared corpus directory (llm.c shards + corpus.json) as `pretrain tokenize` does; another
    /// `seed` gives other text (train from `seed`, val from `seed + 1`).
    static func writePrepared(to directory: URL, trainTokens: Int = 6000, valTokens: Int = 800,
                              vocabularySize: Int = 64, seed: UInt64 = 1) throws {
        try SyntheticCorpus.writePrepared(to: directory, trainTokens: trainTokens, valTokens: valTokens,
                                          vocabularySize: vocabularySize, seed: seed)
    }
}

/// A tiny GPT recipe: 2 layers of width 16, context 8, dropout on (so the dropout stream matters), two
/// micro-batches of 4 windows per update, a metrics row every step.
func tinyRecipe(steps: Int = 40) -> Recipe {
    var recipe = Recipe()
    recipe.model.layers = 2
    recipe.model.dModel = 16
    recipe.model.heads = 2
    recipe.model.context = 8
    recipe.model.dropout = 0.1
    recipe.optim.lr = 3e-3
    recipe.optim.batchSize = 4
    recipe.optim.gradAccum = 2
    recipe.schedule.kind = .cosine
    recipe.schedule.warmup = 5
    recipe.schedule.minLR = 3e-4
    recipe.train.steps = steps
    recipe.train.evalEvery = 10
    recipe.train.evalBatches = 2
    recipe.train.logEvery = 1
    recipe.train.checkpointEvery = 10
    recipe.train.keepLast = 2
    recipe.train.seed = 7
    return recipe
}
