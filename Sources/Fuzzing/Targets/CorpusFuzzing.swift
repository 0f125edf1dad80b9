import Foundation
import TextData
import Training

/// Prepared corpus directories (corpus.json beside its shards and tokenizer.json) through `TrainingCorpus.load`:
/// corpus.json's counts, names and structure mutated, and shards cut, renamed, added or dropped.
enum CorpusFuzzing {
    static let trainTokens = (0..<200).map { ($0 * 31 + 7) % 300 }, valTokens = (0..<40).map { ($0 * 17) % 300 }

    static let manifest: [UInt8] = Array(CorpusManifest(
        tokenizer: "tokenizer.json", vocabSize: 300, eotToken: 0, trainTokens: trainTokens.count, valTokens: valTokens.count,
        trainBytes: 800, valBytes: 160, trainDocuments: 3, valDocuments: 1,
        files: [CorpusFile(file: "data/a.txt", trainDocuments: 3, valDocuments: 0, bytes: 800),
                CorpusFile(file: "data/b.jsonl", trainDocuments: 0, valDocuments: 1, bytes: 160)],
        skipped: [SkippedFile(file: "data/c.txt", reason: "empty")]).jsonText().utf8)

    static func seed() -> FuzzInput {
        FuzzInput(files: [("corpus.json", manifest), ("tokenizer.json", TokenizerFuzzing.byteLevelBPE),
                          ("train_000000.bin", ShardFuzzing.shard(trainTokens, wide: false)),
                          ("val_000000.bin", ShardFuzzing.shard(valTokens, wide: false))])
    }

    /// Mutates corpus.json's text.
    static func manifestFamily(_ name: String, _ mutate: @escaping (inout [UInt8], inout FuzzRandom) -> Void) -> MutationFamily {
        MutationFamily(name) { random in
            var input = seed()
            for _ in 0..<random.geometricCount(max: 3) { mutate(&input.files[0].bytes, &random) }
            return input
        }
    }

    /// The directory's shard files changed: one cut or mutated, a second train shard, the val shard gone, a name
    /// that is almost a shard's.
    static func shards(_ random: inout FuzzRandom) -> FuzzInput {
        var input = seed()
        for _ in 0..<random.geometricCount(max: 3) {
            guard input.files.count > 2 else { break }
            let shard = random.int(2..<input.files.count)
            switch random.int(0..<5) {
            case 0: ShardFuzzing.headerField(&input.files[shard].bytes, &random)
            case 1: ByteMutations.havoc(&input.files[shard].bytes, &random)
            case 2: input.files.append((random.pick(["train_000001.bin", "val_000001.bin", "train_1.bin", "train_000000.bin.tmp",
                                                     "val_999999.bin"]), random.pick(ShardFuzzing.seeds)))
            case 3: input.files.remove(at: shard)
            default: input.files[shard].name = random.pick(["train_000000.BIN", "train_00000a.bin", "val_0000000.bin", "x.bin"])
            }
        }
        return input
    }

    static let target = FuzzTarget(
        name: "corpus", parses: "prepared corpus directories: corpus.json, shards (TrainingCorpus.load)", seeds: [seed()],
        families: [
            manifestFamily("numbers") { TextMutations.replaceNumber(&$0, with: TextMutations.extremeNumbers, &$1) },
            manifestFamily("non-finite") { TextMutations.replaceNumber(&$0, with: TextMutations.nonFiniteJSON, &$1) },
            manifestFamily("strings") { TextMutations.replaceString(&$0, &$1) },
            manifestFamily("lines") { bytes, random in
                random.pick([TextMutations.duplicateLines, TextMutations.swapLines, TextMutations.deleteLines])(&bytes, &random)
            },
            manifestFamily("bytes") { ByteMutations.havoc(&$0, &$1) },
            manifestFamily("deep-nesting") { TextMutations.nestJSON(&$0, &$1) },
            MutationFamily("shards", make: shards),
        ],
        parse: { _, directory in
            var data = DataSection()
            data.corpus = directory.path
            let corpus = try TrainingCorpus.load(data)
            _ = corpus.trainShards.count + corpus.validation.tokenCount
        })
}
