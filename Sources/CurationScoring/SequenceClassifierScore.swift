import Curation
import Foundation
import HFInterop
import Layers
import Tensors
import TextClassification
import TextData

/// `sequence_classifier`: a Transformer classifier of ours (`pretrain finetune-text --out`, a Hugging Face
/// *ForSequenceClassification directory) labels each document. meta[`field`] is the most probable label (the first on
/// a tie) and meta[`field`_score] the softmax probability of `score_label`, or of that label when none is set. Texts are
/// read as fine-tuning read them (`ClassifierInputs`: the directory's tokenizer.json, the special tokens around the
/// first `max_length` tokens).
///
/// With `batch_size` > 1 the step scores in its corpus pass: documents are collected as they arrive, and every
/// `lengthWindow` of them are sorted by length and cut into batches, so a batch pads little (to a multiple of
/// `lengthStep` tokens); `apply` then reads the scores in input order. With `batch_size: 1` it scores each document in `apply`, without a spool.
public final class SequenceClassifierScore: CurationStep {
    public static let kind = "sequence_classifier"
    public static let keys = ["model", "field", "score_label", "max_length", "batch_size"]

    let classifier: SequenceClassifier
    /// The classifier's labels in class-index order (config.json's id2label).
    public let labels: [String]
    /// The directory the classifier was read from (a seed's directory when `model` names a fine-tuning's --out).
    public let directory: URL
    public let inputs: ClassifierInputs
    public let field: String
    public let batchSize: Int
    private let scoreIndex: Int?
    public var needsCorpusPass: Bool { batchSize > 1 }

    /// Documents collected together and sorted by length before they are cut into batches.
    private var lengthWindow: Int { batchSize * 32 }
    /// A batch of several texts pads to a multiple of this many tokens (see `padded`).
    private static let lengthStep = 16
    /// Corpus pass: each document's (label index, score) in input order (nil: its text gives no tokens), and the ids
    /// of documents not scored yet with their positions.
    private var scores: [(label: Int, score: Double)?] = []
    private var pending: [(position: Int, ids: [Int32])] = []
    private var next = 0

    public init(settings: StepSettings) throws {
        guard let path = try settings.string("model"), !path.isEmpty else {
            throw settings.problem(nil, "needs a 'model:' (a directory written by `pretrain finetune-text --out`, or one of its seed-N)")
        }
        let (directory, report) = try Self.locate(path, settings: settings)
        let imported: ImportedClassifier
        do { imported = try importHuggingFaceClassifier(directory: directory) } catch {
            throw settings.problem("model", "\(error)")
        }
        guard let tokenizerURL = imported.tokenizer else {
            throw settings.problem("model", "\(directory.appendingPathComponent("tokenizer.json").path) is missing: the step "
                + "tokenizes as the classifier was fine-tuned")
        }
        let tokenizer: Tokenizer
        do { tokenizer = try loadTokenizer(tokenizerURL) } catch { throw settings.problem("model", "\(error)") }
        let context: Int
        if let bert = imported.model as? BertForSequenceClassification {
            context = bert.config.maxPositions
        } else {
            context = (imported.model as! GPTForSequenceClassification).config.contextLength
        }
        let maxLength = try settings.int("max_length") ?? report?.maxLength ?? context
        guard (1...context).contains(maxLength) else {
            throw settings.problem("max_length", "must be in 1…\(context) (the classifier's positions), got \(maxLength)")
        }
        do {
            inputs = try ClassifierInputs(tokenizer: tokenizer, decoder: imported.family != .bert, maxLength: maxLength,
                                          source: tokenizerURL.path)
        } catch {
            throw settings.problem("max_length", "\(error)")
        }
        // A decoder reads the last token that is not its pad_token_id; the batches must pad with that id.
        if imported.family != .bert, imported.padToken != Int(inputs.padToken) {
            throw settings.problem("model", "\(directory.appendingPathComponent("config.json").path): pad_token_id "
                + "\(imported.padToken.map(String.init) ?? "unset") is not \(inputs.padToken), the id its tokenizer pads with")
        }
        classifier = imported.model
        labels = imported.labels
        self.directory = directory
        field = try settings.string("field") ?? "classifier"
        guard !field.isEmpty else { throw settings.problem("field", "must be a non-empty meta key") }
        if let scoreLabel = try settings.string("score_label") {
            guard let index = labels.firstIndex(of: scoreLabel) else {
                throw settings.problem("score_label", "'\(scoreLabel)' is not a label of "
                    + "\(directory.appendingPathComponent("config.json").path) (labels: \(labels.joined(separator: ", ")))")
            }
            scoreIndex = index
        } else {
            scoreIndex = nil
        }
        batchSize = try settings.int("batch_size") ?? 32
        guard batchSize >= 1 else { throw settings.problem("batch_size", "must be ≥ 1, got \(batchSize)") }
    }

    /// `path` as a classifier directory: one with config.json, or a fine-tuning's --out (results.json and seed-N/),
    /// which means its seed of best dev accuracy (the first on a tie). Returns the fine-tuning's report when there is
    /// one (beside the seeds), for its max_length.
    static func locate(_ path: String, settings: StepSettings) throws -> (URL, FineTuningReport?) {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw settings.problem("model", "\(path): no such directory")
        }
        func report(in directory: URL) throws -> FineTuningReport? {
            let file = directory.appendingPathComponent("results.json")
            guard let data = FileManager.default.contents(atPath: file.path) else { return nil }
            do { return try JSONDecoder().decode(FineTuningReport.self, from: data) } catch {
                throw settings.problem("model", "\(file.path): not the results.json of `pretrain finetune-text` (\(error))")
            }
        }
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) {
            return (url, try report(in: url.deletingLastPathComponent()))
        }
        guard let fineTuning = try report(in: url) else {
            throw settings.problem("model", "\(path) holds neither config.json (a Hugging Face classifier) nor results.json "
                + "(a `pretrain finetune-text --out` directory)")
        }
        let best = fineTuning.seeds.max { $0.dev.accuracy < $1.dev.accuracy || ($0.dev.accuracy == $1.dev.accuracy && $0.seed > $1.seed) }
        guard let best else { throw settings.problem("model", "\(url.appendingPathComponent("results.json").path) lists no seeds") }
        return (url.appendingPathComponent("seed-\(best.seed)"), fineTuning)
    }

    /// The softmax probabilities over `labels` of each text (nil for a text that gives no tokens), `batchSize` texts per
    /// forward pass in the order given.
    public func probabilities(_ texts: [String]) -> [[Double]?] {
        probabilities(ids: texts.map(inputs.encode))
    }

    private func probabilities(ids: [[Int32]]) -> [[Double]?] {
        var result = [[Double]?](repeating: nil, count: ids.count)
        let scored = ids.indices.filter { !ids[$0].isEmpty }
        classifier.eval()
        for start in stride(from: 0, to: scored.count, by: batchSize) {
            let rows = Array(scored[start..<min(start + batchSize, scored.count)])
            let logits = noGrad { classifier.logits(padded(rows.map { ids[$0] })) }
            let values = logits.scalars, width = labels.count
            for (offset, row) in rows.enumerated() {
                result[row] = softmax(values[(offset * width)..<((offset + 1) * width)])
            }
        }
        return result
    }

    /// Right-padded with an attention mask to the longest text, rounded up to a multiple of `lengthStep` (at most
    /// `max_length`) when there are several: the buffer pool keeps buffers by exact size, and a corpus pass makes batches
    /// of every length, so rounding bounds the memory it keeps to a few shapes' worth.
    private func padded(_ sequences: [[Int32]]) -> PaddedTokens {
        guard sequences.count > 1 else { return PaddedTokens(sequences, padToken: inputs.padToken) }
        let longest = sequences.map(\.count).max()!
        let length = min(inputs.maxLength, (longest + Self.lengthStep - 1) / Self.lengthStep * Self.lengthStep)
        var tokens = [Int32](), mask = [Int32]()
        for sequence in sequences {
            tokens += sequence + [Int32](repeating: inputs.padToken, count: length - sequence.count)
            mask += [Int32](repeating: 1, count: sequence.count) + [Int32](repeating: 0, count: length - sequence.count)
        }
        return PaddedTokens(tokens: IntTensor(tokens, shape: [sequences.count, length]),
                            attentionMask: IntTensor(mask, shape: [sequences.count, length]))
    }

    /// Softmax of Float logits, in Double.
    private func softmax(_ logits: ArraySlice<Float>) -> [Double] {
        let top = Double(logits.max()!)
        let exps = logits.map { exp(Double($0) - top) }
        let total = exps.reduce(0, +)
        return exps.map { $0 / total }
    }

    private func verdict(_ probabilities: [Double]) -> (label: Int, score: Double) {
        let best = probabilities.indices.reduce(0) { probabilities[$1] > probabilities[$0] ? $1 : $0 }
        return (best, probabilities[scoreIndex ?? best])
    }

    public func observe(_ document: CurationDocument) throws {
        pending.append((scores.count, inputs.encode(document.text)))
        scores.append(nil)
        if pending.count == lengthWindow { scorePending() }
    }

    public func finishObserving() throws { scorePending() }

    /// Scores the pending documents, shortest first (ties in input order), so each batch holds texts of like length.
    private func scorePending() {
        let sorted = pending.sorted { ($0.ids.count, $0.position) < ($1.ids.count, $1.position) }
        for (entry, probabilities) in zip(sorted, probabilities(ids: sorted.map(\.ids))) {
            scores[entry.position] = probabilities.map(verdict)
        }
        pending.removeAll(keepingCapacity: true)
    }

    public func apply(to document: inout CurationDocument) throws -> StepVerdict {
        let score: (label: Int, score: Double)?
        if needsCorpusPass {
            score = scores[next]
            next += 1
        } else {
            score = probabilities([document.text])[0].map(verdict)
        }
        guard let score else { return .keep }   // no tokens: no label (a filter on the field decides)
        document.meta[field] = .string(labels[score.label])
        document.meta[field + "_score"] = .number(score.score)
        return .keep
    }
}
