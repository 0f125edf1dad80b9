import Foundation
import TextData

extension TrainingCorpus {
    /// Reads a prepared corpus (`data.corpus`: train and val shards) and the val shards of the named validation
    /// corpora (`data.val`). Relative paths are taken from the current directory.
    public static func load(_ data: DataSection) throws -> TrainingCorpus {
        let corpus = try PreparedCorpus(directory: URL(fileURLWithPath: data.corpus))
        let validation = try validationSet(name: "val", corpus)
        var named: [ValidationSet] = []
        for (name, path) in data.val.sorted(by: { $0.key < $1.key }) {
            let other = try PreparedCorpus(directory: URL(fileURLWithPath: path))
            guard other.vocabularySize <= corpus.vocabularySize else {
                throw TrainingError("data.val.\(name) (\(path)) has a vocabulary of \(other.vocabularySize), larger than "
                    + "the train corpus' \(corpus.vocabularySize): it was tokenized with another tokenizer")
            }
            let set = try validationSet(name: name, other)
            guard set.tokenCount > 0 else { throw TrainingError("data.val.\(name) (\(path)) has no val tokens") }
            named.append(set)
        }
        let tokenizer = corpus.tokenizerURL
        return TrainingCorpus(trainShards: try corpus.trainShards.map(TokenShard.read),
                              validation: validation, namedValidation: named,
                              vocabularySize: corpus.vocabularySize,
                              tokenizerURL: FileManager.default.fileExists(atPath: tokenizer.path) ? tokenizer : nil)
    }

    /// The val split of a prepared corpus, with its bytes per token.
    public static func validationSet(name: String, _ corpus: PreparedCorpus) throws -> ValidationSet {
        let bytesPerToken = corpus.valTokens > 0 && corpus.valBytes > 0 ? Double(corpus.valBytes) / Double(corpus.valTokens) : nil
        return ValidationSet(name: name, shards: try corpus.valShards.map(TokenShard.read), bytesPerToken: bytesPerToken)
    }
}
