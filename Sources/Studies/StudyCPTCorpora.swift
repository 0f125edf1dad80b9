import Foundation
import TextData
import Training

/// The study's two prepared corpora. Token ids must mean the same thing in both (the upstream checkpoint's
/// embeddings are reused downstream, and replay mixes the two), so both must come from one tokenizer.
public struct StudyCPTCorpora {
    public let upstream: PreparedCorpus
    public let downstream: PreparedCorpus

    /// Both directories prepared (`pretrain tokenize --out`), with byte-identical tokenizers. The messages name
    /// the command's options (`--upstream`, `--downstream`), which the paths came from.
    public init(upstream: String, downstream: String) throws {
        var corpora: [PreparedCorpus] = []
        var tokenizers: [Data] = []
        for (role, path) in [("upstream", upstream), ("downstream", downstream)] {
            let directory = URL(fileURLWithPath: path)
            guard FileManager.default.fileExists(atPath: directory.appendingPathComponent(PreparedCorpus.manifestName).path) else {
                throw TrainingError("--\(role) \(path): not a prepared corpus (no corpus.json); prepare it with pretrain "
                    + "tokenize (see pretrain study cpt --help), or run make study-cpt")
            }
            let corpus = try PreparedCorpus(directory: directory)
            guard let tokenizer = try? Data(contentsOf: corpus.tokenizerURL) else {
                throw TrainingError("--\(role) \(path): no \(corpus.tokenizerURL.lastPathComponent) beside corpus.json")
            }
            corpora.append(corpus)
            tokenizers.append(tokenizer)
        }
        guard tokenizers[0] == tokenizers[1] else {
            throw TrainingError("--upstream \(upstream) and --downstream \(downstream) were tokenized with different "
                + "tokenizers; prepare the downstream one with --tokenizer \(upstream)/tokenizer.json")
        }
        (self.upstream, self.downstream) = (corpora[0], corpora[1])
    }
}
