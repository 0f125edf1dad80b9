import Curation
import Foundation
import Layers
import Tensors
import TextData
import Training

/// `perplexity`: a decoder checkpoint of ours scores each document (CCNet, Wenzek et al. 2020, §3.3: a language
/// model trained on clean text gives low perplexity to text like it). The document is tokenized as `pretrain
/// tokenize` does (<|endoftext|> first), cut to `max_tokens`, and predicted in windows of the model's context;
/// meta[`field`] is exp(mean next-token loss). With `bucket_field` the corpus pass also cuts the perplexities at
/// their 1/3 and 2/3 quantiles and writes CCNet's `head` (lowest third), `middle` or `tail` there.
public final class PerplexityScore: CurationStep {
    public static let kind = "perplexity"
    public static let keys = ["checkpoint", "tokenizer", "field", "max_tokens", "bucket_field"]

    let model: GPTModel
    let tokenizer: Tokenizer
    let endOfText: Int?
    public let field: String
    public let bucketField: String?
    let maxTokens: Int
    public var needsCorpusPass: Bool { bucketField != nil }
    /// Corpus pass: each document's perplexity in input order (nil: too short to score), then the bucket cut-offs.
    private var scores: [Double?] = []
    private var next = 0
    private var cutoffs: (Double, Double) = (0, 0)

    public init(settings: StepSettings) throws {
        guard let path = try settings.string("checkpoint"), !path.isEmpty else {
            throw settings.problem(nil, "needs a 'checkpoint:' (a decoder checkpoint or run directory of ours)")
        }
        let loaded: LoadedCheckpoint
        do { loaded = try loadCheckpoint(URL(fileURLWithPath: path)) } catch {
            throw settings.problem("checkpoint", "\(error)")
        }
        guard let decoder = loaded.decoder else {
            throw settings.problem("checkpoint", "\(path) holds a \(loaded.config.model.flavor) encoder; perplexity needs a decoder (gpt2 or llama)")
        }
        let tokenizerURL: URL
        do {
            tokenizerURL = try loaded.tokenizerFile(override: try settings.string("tokenizer"))
            tokenizer = try loadTokenizer(tokenizerURL)
        } catch let error as CurationError {
            throw error
        } catch {
            throw settings.problem("tokenizer", "\(error)")
        }
        guard tokenizer.vocabularySize <= decoder.config.vocabSize else {
            throw settings.problem("tokenizer", "\(tokenizerURL.path) has \(tokenizer.vocabularySize) ids, more than the model's "
                + "vocabulary of \(decoder.config.vocabSize): another tokenizer?")
        }
        model = decoder
        model.eval()
        endOfText = tokenizer.specialTokenID("<|endoftext|>")
        field = try settings.string("field") ?? "perplexity"
        bucketField = try settings.string("bucket_field")
        maxTokens = try settings.int("max_tokens") ?? 4096
        guard maxTokens >= 2 else { throw settings.problem("max_tokens", "must be ≥ 2, got \(maxTokens)") }
    }

    /// exp(mean loss) of the document's tokens after the first; nil for a document of fewer than two tokens.
    public func perplexity(_ text: String) -> Double? {
        let ids = Array(((endOfText.map { [$0] } ?? []) + tokenizer.encode(text)).prefix(maxTokens))
        guard ids.count >= 2 else { return nil }
        let context = model.config.contextLength
        var total = 0.0, predicted = 0
        noGrad {
            // Non-overlapping windows of context + 1 tokens (the last one shorter), each predicting its last T.
            var start = 0
            while start + 1 < ids.count {
                let window = Array(ids[start..<min(ids.count, start + context + 1)])
                let count = window.count - 1
                let tokens = IntTensor(Array(window.dropLast()), shape: [1, count])
                let targets = IntTensor(Array(window.dropFirst()), shape: [1, count])
                total += Double(model.loss(tokens: tokens, targets: targets).item) * Double(count)
                predicted += count
                start += context
            }
        }
        return exp(total / Double(predicted))
    }

    public func observe(_ document: CurationDocument) throws { scores.append(perplexity(document.text)) }

    public func finishObserving() throws {
        let sorted = scores.compactMap { $0 }.sorted()
        guard !sorted.isEmpty else { return }
        func quantile(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.down)))] }
        cutoffs = (quantile(1.0 / 3), quantile(2.0 / 3))
    }

    public func apply(to document: inout CurationDocument) throws -> StepVerdict {
        let score: Double?
        if bucketField != nil {
            score = scores[next]
            next += 1
        } else {
            score = perplexity(document.text)
        }
        guard let score else { return .keep }   // too short: no score (a filter on the field decides)
        document.meta[field] = .number(score)
        if let bucketField {
            document.meta[bucketField] = .string(score < cutoffs.0 ? "head" : score < cutoffs.1 ? "middle" : "tail")
        }
        return .keep
    }
}
