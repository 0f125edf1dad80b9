import Foundation
import Layers
import Tensors

// Sequence classifiers as Hugging Face directories: BertForSequenceClassification, GPT2ForSequenceClassification and
// LlamaForSequenceClassification. The parameter names of `BertForSequenceClassification` and
// `GPTForSequenceClassification` are already transformers' (`bert.pooler.dense.*`, `classifier.*`, `score.weight`
// beside the backbone's), so the base families' `CheckpointLayout` is all that changes; config.json is the base
// family's with the class in `architectures`, `id2label`/`label2id` (transformers derives num_labels from them) and
// pad_token_id.

extension HuggingFaceFamily {
    /// The transformers class of a sequence classifier over the family.
    public var sequenceClassificationArchitecture: String {
        switch self {
        case .gpt2: return "GPT2ForSequenceClassification"
        case .llama: return "LlamaForSequenceClassification"
        case .bert: return "BertForSequenceClassification"
        }
    }
}

/// Writes a BERT classifier that pools [CLS] as a BertForSequenceClassification directory. `labels`: the class names
/// in class-index order. `padToken` becomes pad_token_id (transformers' default is 0). A classifier pooling the mean
/// has no transformers class and is refused.
public func exportHuggingFace(_ classifier: BertForSequenceClassification, labels: [String], to directory: URL,
                              tokenizer: URL? = nil, padToken: Int? = nil) throws {
    guard classifier.pooling == .cls else {
        throw HuggingFaceError("a BERT classifier pooling the \(classifier.pooling.rawValue) of its states has no transformers class "
            + "(BertForSequenceClassification pools [CLS]): fine-tune with the cls head to export")
    }
    var config = HuggingFaceConfig.bert(classifier.config, padToken: padToken)
    try addClassifierFields(&config, family: .bert, labels: labels, labelCount: classifier.labelCount)
    try writeDirectory(directory, config: config, weights: CheckpointLayout.exportWeights(classifier, family: .bert),
                       tokenizer: tokenizer)
}

/// Writes a decoder classifier that reads the last token as a GPT2ForSequenceClassification or
/// LlamaForSequenceClassification directory; its `padToken` becomes pad_token_id, `endOfTextToken`
/// bos_token_id/eos_token_id. A classifier pooling the mean has no transformers class and is refused.
public func exportHuggingFace(_ classifier: GPTForSequenceClassification, labels: [String], to directory: URL,
                              tokenizer: URL? = nil, endOfTextToken: Int? = nil) throws {
    guard classifier.pooling == .last else {
        throw HuggingFaceError("a decoder classifier pooling the \(classifier.pooling.rawValue) of its states has no transformers class "
            + "(\(classifier.config.flavor == .gpt2 ? "GPT2" : "Llama")ForSequenceClassification reads the last token): fine-tune with the last head to export")
    }
    let family: HuggingFaceFamily = classifier.config.flavor == .gpt2 ? .gpt2 : .llama
    var config = family == .gpt2 ? HuggingFaceConfig.gpt2(classifier.config, endOfTextToken: endOfTextToken)
                                 : HuggingFaceConfig.llama(classifier.config, endOfTextToken: endOfTextToken)
    config["pad_token_id"] = classifier.padToken
    try addClassifierFields(&config, family: family, labels: labels, labelCount: classifier.labelCount)
    try writeDirectory(directory, config: config, weights: CheckpointLayout.exportWeights(classifier, family: family),
                       tokenizer: tokenizer)
}

func addClassifierFields(_ config: inout [String: Any], family: HuggingFaceFamily, labels: [String], labelCount: Int) throws {
    guard labels.count == labelCount, Set(labels).count == labels.count else {
        throw HuggingFaceError("a classifier of \(labelCount) classes needs as many distinct label names, got \(labels)")
    }
    config["architectures"] = [family.sequenceClassificationArchitecture]
    config["id2label"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ("\($0.offset)", $0.element) })
    config["label2id"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) })
}

/// A sequence classifier read from a Hugging Face directory.
public struct ImportedClassifier {
    /// A `BertForSequenceClassification` (pooling [CLS]) or a `GPTForSequenceClassification` (the last token).
    public let model: SequenceClassifier
    public let family: HuggingFaceFamily
    /// Class names in class-index order (id2label; LABEL_i when the config names none).
    public let labels: [String]
    /// pad_token_id, when the config has one.
    public let padToken: Int?
    /// The directory's tokenizer.json, when it has one.
    public let tokenizer: URL?
}

/// Reads a BertForSequenceClassification, GPT2ForSequenceClassification or LlamaForSequenceClassification directory
/// strictly (as `importHuggingFace`: a missing, unused or wrongly shaped tensor is an error naming every offender).
/// A decoder without pad_token_id reads the last position of every sequence (transformers then refuses batches of
/// more than one). The model is in evaluation mode.
public func importHuggingFaceClassifier(directory: URL) throws -> ImportedClassifier {
    let reader = try HuggingFaceConfig.Reader(contentsOf: directory.appendingPathComponent("config.json"))
    let family = try reader.family()
    let architectures = reader.json["architectures"] as? [String] ?? []
    guard architectures.contains(family.sequenceClassificationArchitecture) else {
        throw HuggingFaceError("\(reader.url.path): architectures \(architectures) does not name \(family.sequenceClassificationArchitecture)")
    }
    let labels = try classifierLabels(reader)
    let padToken: Int? = reader.has("pad_token_id") ? try reader.int("pad_token_id") : nil
    let raw = try CheckpointLayout.readWeights(directory, family: family, classifier: true)
    var generator = RandomGenerator(seed: 0)
    let model: SequenceClassifier
    switch family {
    case .bert:
        let bert = BertModel(try HuggingFaceConfig.bertConfig(reader), generator: &generator)
        model = BertForSequenceClassification(bert: bert, labels: labels.count, pooling: .cls, generator: &generator)
    case .gpt2, .llama:
        let config = try HuggingFaceConfig.gptConfig(reader, flavor: family == .gpt2 ? .gpt2 : .llama)
        model = GPTForSequenceClassification(decoder: GPTModel(config, generator: &generator), labels: labels.count,
                                             padToken: padToken ?? -1, pooling: .last, generator: &generator)
    }
    // No lm_head is tied away: a classifier has none, so one in the file is reported as unused.
    let weights = try CheckpointLayout.sanitize(raw, family: family, tied: false, source: directory.path)
    do {
        try model.load(weights)
    } catch let error as WeightLoadingError {
        throw HuggingFaceError("\(directory.path) (\(family.sequenceClassificationArchitecture)): \(error.message)")
    }
    model.eval()
    let tokenizer = directory.appendingPathComponent("tokenizer.json")
    return ImportedClassifier(model: model, family: family, labels: labels, padToken: padToken,
                              tokenizer: FileManager.default.fileExists(atPath: tokenizer.path) ? tokenizer : nil)
}

/// id2label in index order (keys "0"…"n-1"), else num_labels generic names; at least two classes.
func classifierLabels(_ reader: HuggingFaceConfig.Reader) throws -> [String] {
    var labels: [String]
    if let table = reader.json["id2label"] as? [String: Any] {
        labels = []
        for index in 0..<table.count {
            guard let name = table["\(index)"] as? String else {
                throw HuggingFaceError("\(reader.url.path): \"id2label\" must map \"0\"…\"\(table.count - 1)\" to label names, lacks \"\(index)\"")
            }
            labels.append(name)
        }
    } else {
        labels = (0..<(try reader.int("num_labels", default: 2))).map { "LABEL_\($0)" }
    }
    guard labels.count >= 2 else { throw HuggingFaceError("\(reader.url.path): a classifier needs ≥ 2 labels, has \(labels.count)") }
    return labels
}
