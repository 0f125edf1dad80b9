import FileErrors
import Foundation
import HFInterop
import Layers
import Tensors
import TextData
import TextTasks
import Training

/// One labelled text; `label` indexes `LabelledSplits.labels`.
public struct LabelledText: Equatable, Sendable {
    public var text: String
    public var label: Int
    public init(text: String, label: Int) {
        self.text = text
        self.label = label
    }
}

/// The texts of one fine-tuning: the class names in index order and the three splits.
public struct LabelledSplits: Equatable, Sendable {
    public var labels: [String]
    public var train: [LabelledText], dev: [LabelledText], test: [LabelledText]
    public init(labels: [String], train: [LabelledText], dev: [LabelledText], test: [LabelledText]) {
        (self.labels, self.train, self.dev, self.test) = (labels, train, dev, test)
    }
}

/// One seed's fine-tuning, as results.json records it.
public struct SeedResult: Codable, Equatable, Sendable {
    public var seed: UInt64
    public var bestStep: Int
    public var steps: Int
    public var trainExamples: Int
    public var dev: ClassificationScore
    public var test: ClassificationScore
    public var devCurve: [DevPoint]
    /// The Hugging Face directory the fine-tuned classifier was written to, when it was.
    public var export: String?
    /// Dev and test before the first update, when measured: a prompt-based classifier's zero-shot scores (with
    /// self-training, those of the model the last stage started from).
    public var stepZero: StepZeroScores?
    /// The stages before the last, when this seed was self-trained.
    public var selfTraining: SelfTrainingStages?

    enum CodingKeys: String, CodingKey {
        case seed, steps, dev, test, export
        case bestStep = "best_step", trainExamples = "train_examples", devCurve = "dev_curve", stepZero = "step_0"
        case selfTraining = "self_training"
    }

    init(_ outcome: SequenceClassifierOutcome, seed: UInt64, trainExamples: Int, export: String? = nil,
         selfTraining: SelfTrainingStages? = nil) {
        (self.seed, bestStep, steps, self.trainExamples) = (seed, outcome.bestStep, outcome.steps, trainExamples)
        (dev, test, devCurve, self.export) = (outcome.dev, outcome.test, outcome.devCurve, export)
        (stepZero, self.selfTraining) = (outcome.stepZero, selfTraining)
    }
}

/// Fine-tunes a text checkpoint of ours (gpt2, llama, bert; `loadCheckpoint`) as a sequence classifier with its own
/// tokenizer, one seed at a time: a fresh copy of the checkpoint, a new head, `SequenceClassifierTraining`; on request
/// the result is written as a Hugging Face *ForSequenceClassification directory with predictions.json, the test
/// texts' ids and our logits that scripts/check_seqcls_export.py compares with transformers.
public struct TextClassifierFineTuning {
    public var checkpoint: URL
    public var settings = SequenceClassifierSettings()
    /// A new head (`.head`), or the LM head inside the task's prompt (`.prompt`, LM-BFF; `PromptInputs`).
    public var method = FineTuningMethod.head
    /// nil: the family's default, `.cls` for BERT (HF-exportable), `.last` for decoders. Not for `.prompt`.
    public var pooling: SequencePooling?
    /// Tokens per text, special tokens included; nil: the model's context (BERT: its positions).
    public var maxLength: Int?
    /// Test texts written to predictions.json beside an export.
    public var exportedPredictions = 64
    /// Asked before every update (an interrupt): true ends the fine-tuning with `FineTuningStopped`.
    public var shouldStop: () -> Bool = { false }

    public init(checkpoint: URL) { self.checkpoint = checkpoint }

    /// The checkpoint as this fine-tuning reads it: its directory, tokenizer and inputs, checked before any seed runs.
    public struct Backbone {
        public let directory: URL
        public let tokenizer: URL
        public let isDecoder: Bool
        public let pooling: SequencePooling
        public let inputs: ClassifierInputs
        public let endOfTextToken: Int?
        /// Positions the model holds.
        public let context: Int
        public let method: FineTuningMethod
        /// The prompt and the label tokens (`.prompt` only).
        public let prompt: PromptInputs?

        /// The ids the classifier reads for `text`.
        public func encode(_ text: String) -> [Int32] { prompt?.encode(text) ?? inputs.encode(text) }
    }

    /// Loads and checks the checkpoint, its tokenizer, the head and the length; for `.prompt`, the prompt of `task`.
    public func prepare(task: TextTask? = nil) throws -> Backbone {
        if let problem = settings.problem { throw FineTuningError(problem) }
        if method == .prompt {
            guard task != nil else { throw FineTuningError("prompt-based fine-tuning reads the task's prompt: prepare(task:)") }
            if settings.linearProbe {
                throw FineTuningError("--linear-probe trains a new head on frozen states; --method prompt has no new head (it fine-tunes the whole model)")
            }
            if let pooling {
                throw FineTuningError("--head \(pooling.rawValue): --method prompt reads the mask token (BERT) or the last token (GPT-2, Llama), not a head")
            }
        }
        let loaded = try loadCheckpoint(checkpoint)
        let isDecoder = loaded.decoder != nil
        guard isDecoder || loaded.encoder != nil else {
            throw FineTuningError("\(loaded.directory.path): a \(loaded.config.model.flavor.rawValue) checkpoint; fine-tuning a text classifier needs gpt2, llama or bert")
        }
        let pooling = method == .prompt ? (isDecoder ? .last : .mask) : self.pooling ?? (isDecoder ? .last : .cls)
        let allowed: [SequencePooling] = method == .prompt ? [pooling] : isDecoder ? [.last, .mean] : [.cls, .mean]
        guard allowed.contains(pooling) else {
            throw FineTuningError("--head \(pooling.rawValue): a \(isDecoder ? "decoder" : "BERT") classifier pools \(allowed.map(\.rawValue).joined(separator: " or "))")
        }
        let context = loaded.decoder?.config.contextLength ?? loaded.encoder!.config.maxPositions
        if let maxLength, !(1...context).contains(maxLength) {
            throw FineTuningError("--max-length \(maxLength): the model holds 1…\(context) tokens")
        }
        let tokenizerURL = try loaded.tokenizerFile()
        let tokenizer = try loadTokenizer(tokenizerURL)
        let inputs = try ClassifierInputs(tokenizer: tokenizer, decoder: isDecoder, maxLength: maxLength ?? context,
                                          source: tokenizerURL.path)
        let vocabulary = loaded.decoder?.config.vocabSize ?? loaded.encoder!.config.vocabSize
        let prompt = try method == .prompt
            ? PromptInputs(task: task!, inputs: inputs, decoder: isDecoder, vocabularySize: vocabulary, source: tokenizerURL.path)
            : nil
        return Backbone(directory: loaded.directory, tokenizer: tokenizerURL, isDecoder: isDecoder, pooling: pooling,
                        inputs: inputs, endOfTextToken: tokenizer.specialTokenID("<|endoftext|>"), context: context,
                        method: method, prompt: prompt)
    }

    /// Fine-tunes a fresh copy of the checkpoint on `splits` with `seed`; with `export`, writes the classifier (at its
    /// best dev step) there as a Hugging Face directory.
    public func run(_ splits: LabelledSplits, seed: UInt64, backbone: Backbone, export: URL? = nil,
                    log: (String) -> Void = { _ in }) throws -> SeedResult {
        if export != nil && backbone.method == .prompt { throw Self.promptExportError }
        let (train, dev, test) = try encode(splits, backbone: backbone)
        let classifier = try makeClassifier(backbone, labels: splits.labels.count, seed: seed)
        let outcome = try fit(classifier, train: train, dev: dev, test: test, backbone: backbone, seed: seed,
                          evaluateBeforeTraining: backbone.method == .prompt, log: log)
        if let export {
            try exportClassifier(classifier, labels: splits.labels, backbone: backbone, to: export,
                                 examples: Array(zip(splits.test, test).prefix(exportedPredictions)))
        }
        return SeedResult(outcome, seed: seed, trainExamples: train.count, export: export?.path)
    }

    static let promptExportError = FineTuningError(
        "--out writes a transformers *ForSequenceClassification; a --method prompt classifier is the LM head inside a prompt and is not exported (write the results with --results)")

    /// The splits as the classifier reads them; a label outside the task's or a text without tokens is an error.
    func encode(_ splits: LabelledSplits, backbone: Backbone) throws
        -> (train: [EncodedExample], dev: [EncodedExample], test: [EncodedExample]) {
        if let prompt = backbone.prompt, prompt.labels != splits.labels {
            throw FineTuningError("the splits' labels (\(splits.labels.joined(separator: ", "))) are not the prompt's (\(prompt.labels.joined(separator: ", ")))")
        }
        let encode = { (split: String, texts: [LabelledText]) throws -> [EncodedExample] in
            guard !texts.isEmpty else { throw FineTuningError("the \(split) split has no examples") }
            return try texts.enumerated().map { index, example in
                guard splits.labels.indices.contains(example.label) else {
                    throw FineTuningError("\(split) example \(index + 1): class \(example.label) is outside the \(splits.labels.count) labels")
                }
                let ids = backbone.encode(example.text)
                guard !ids.isEmpty else { throw FineTuningError("\(split) example \(index + 1): the text gives no tokens") }
                return EncodedExample(ids: ids, label: example.label)
            }
        }
        return (try encode("train", splits.train), try encode("dev", splits.dev), try encode("test", splits.test))
    }

    /// `SequenceClassifierTraining.fit` with this fine-tuning's settings, each dev evaluation logged ("seed S step N/M",
    /// with the stage's name when there are several).
    func fit(_ classifier: SequenceClassifier, train: [EncodedExample], dev: [EncodedExample], test: [EncodedExample],
             backbone: Backbone, seed: UInt64, stage: String? = nil, evaluateBeforeTraining: Bool,
             log: (String) -> Void) throws -> SequenceClassifierOutcome {
        let name = String(format: "seed %llu", seed) + (stage.map { " (\($0))" } ?? "")
        let steps = settings.totalSteps(trainExamples: train.count)
        let outcome = try SequenceClassifierTraining.fit(classifier, train: train, dev: dev, test: test,
                                                         padToken: backbone.inputs.padToken, settings: settings, seed: seed,
                                                         evaluateBeforeTraining: evaluateBeforeTraining, shouldStop: shouldStop) { point, best in
            if point.step == 0 {
                log(String(format: "%@ step 0/%d: dev accuracy %.4f before training", name, steps, point.accuracy))
            } else {
                log(String(format: "%@ step %d/%d: train loss %.4f, dev accuracy %.4f%@", name, point.step, steps,
                           point.trainLoss, point.accuracy, best ? " (best)" : ""))
            }
        }
        return outcome
    }

    /// The checkpoint (a fresh load) as a classifier: under a new head drawn from `seed`, or (`.prompt`) its LM head
    /// read at the prompt's answer.
    func makeClassifier(_ backbone: Backbone, labels: Int, seed: UInt64) throws -> SequenceClassifier {
        let loaded = try loadCheckpoint(backbone.directory)
        if let prompt = backbone.prompt {
            precondition(prompt.labelTokens.count == labels, "one label token per class")
            if let decoder = loaded.decoder { return CausalLMPromptClassifier(decoder: decoder, labelTokens: prompt.labelTokens) }
            return MaskedLMPromptClassifier(model: loaded.encoder!, maskToken: prompt.maskToken!, labelTokens: prompt.labelTokens)
        }
        var generator = RandomGenerator(seed: seed)
        if let decoder = loaded.decoder {
            return GPTForSequenceClassification(decoder: decoder, labels: labels, padToken: Int(backbone.inputs.padToken),
                                                pooling: backbone.pooling, generator: &generator)
        }
        return BertForSequenceClassification(bert: loaded.encoder!.bert, labels: labels, pooling: backbone.pooling,
                                             generator: &generator)
    }

    func exportClassifier(_ classifier: SequenceClassifier, labels: [String], backbone: Backbone, to directory: URL,
                          examples: [(LabelledText, EncodedExample)]) throws {
        if let bert = classifier as? BertForSequenceClassification {
            try exportHuggingFace(bert, labels: labels, to: directory, tokenizer: backbone.tokenizer,
                                  padToken: Int(backbone.inputs.padToken))
        } else {
            try exportHuggingFace(classifier as! GPTForSequenceClassification, labels: labels, to: directory,
                                  tokenizer: backbone.tokenizer, endOfTextToken: backbone.endOfTextToken)
        }
        let tokenizer = backbone.inputs.tokenizer
        let roles = ["bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "[UNK]", "sep_token": "[SEP]",
                     "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"]
        var special = roles.filter { tokenizer.specialTokenID($0.value) != nil }
        if special["pad_token"] == nil, let pad = roles.values.first(where: { tokenizer.specialTokenID($0).map(Int32.init) == backbone.inputs.padToken }) {
            special["pad_token"] = pad
        }
        try writeTokenizerConfig(to: directory, maxPositions: backbone.context, specialTokens: special)
        let logits = SequenceClassifierTraining.logits(classifier, examples.map(\.1), padToken: backbone.inputs.padToken)
        let records: [[String: Any]] = zip(examples, logits).map { pair, row in
            ["text": pair.0.text, "label": labels[pair.0.label], "input_ids": pair.1.ids.map(Int.init),
             "logits": row.map { Double("\($0)")! },     // each Float's shortest decimal
             "prediction": labels[row.indices.reduce(0) { row[$1] > row[$0] ? $1 : $0 }]]
        }
        let json: [String: Any] = ["labels": labels, "pad_token_id": Int(backbone.inputs.padToken),
                                   "prefix_ids": backbone.inputs.prefix.map(Int.init),
                                   "suffix_ids": backbone.inputs.suffix.map(Int.init), "examples": records]
        let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
        let url = directory.appendingPathComponent("predictions.json")
        try FileError.wrap("write the predictions", path: url.path) { try (data + Data("\n".utf8)).write(to: url, options: .atomic) }
    }
}
