import Foundation
import TextData

/// JSONL text input of `pretrain tokenize` (one document per line, field "text") through `CorpusPreparation`:
/// with the seed tokenizer.json, or training a small byte-level BPE on the documents; the corpus it writes must
/// open again (`PreparedCorpus`).
enum JSONLFuzzing {
    static let seed: [UInt8] = Array("""
        {"text": "To be, or not to be, that is the question:"}
        {"text": "Whether 'tis nobler in the mind to suffer\\nThe slings and arrows of outrageous fortune,", "id": 2}
        {"id": 3, "text": "Or to take arms against a sea of troubles <|endoftext|> and by opposing end them."}
        {"text": "caf\\u00e9 na\\u00efve \\ud83d\\ude00 \\u0000 tab\\there"}
        {"text": "    "}
        {"meta": {"source": "x"}, "text": "Thus conscience does make cowards of us all;"}

        """.utf8)

    static func family(_ name: String, _ mutate: @escaping (inout [UInt8], inout FuzzRandom) -> Void) -> MutationFamily {
        MutationFamily(name) { random in
            var bytes = seed
            for _ in 0..<random.geometricCount(max: 3) { mutate(&bytes, &random) }
            return FuzzInput(files: [("docs.jsonl", bytes), ("tokenizer.json", random.pick(TokenizerFuzzing.seeds))],
                             arguments: random.chance(0.2) ? ["--train-vocab", "280"] : [])
        }
    }

    static let target = FuzzTarget(
        name: "jsonl", parses: "JSONL input of pretrain tokenize (CorpusPreparation), the output reopened",
        seeds: TokenizerFuzzing.seeds.map { FuzzInput(files: [("docs.jsonl", seed), ("tokenizer.json", $0)]) }
            + [FuzzInput(files: [("docs.jsonl", seed)], arguments: ["--train-vocab", "280"])],
        families: TextMutations.jsonLinesMutations.map { family($0.name, $0.mutate) },
        parse: { input, directory in
            let tokenizer: CorpusPreparation.TokenizerSource = input.arguments.isEmpty
                ? .file(directory.appendingPathComponent("tokenizer.json"))
                : .train(vocabularySize: 280, minFrequency: 2, specialTokens: ["<|endoftext|>"])
            var preparation = CorpusPreparation(inputs: [directory.appendingPathComponent("docs.jsonl")],
                                                split: .fraction(0.3), tokenizer: tokenizer)
            preparation.shardTokens = 64
            let output = directory.appendingPathComponent("corpus")
            let manifest = try preparation.run(into: output)
            let reopened: PreparedCorpus
            do { reopened = try PreparedCorpus(directory: output) } catch {
                throw FuzzFinding("the corpus pretrain tokenize wrote does not open: \(error)")
            }
            guard reopened.manifest == manifest else { throw FuzzFinding("corpus.json does not read back as written") }
        })
}
