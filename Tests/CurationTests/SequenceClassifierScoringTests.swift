import Curation
import CurationScoring
import Foundation
import HFInterop
import Layers
import Tensors
import TestSupport
import TextData
import XCTest

/// `sequence_classifier`: a tiny GPT-2 and a tiny BERT classifier with seeded weights, exported as Hugging Face
/// directories with a BPE trained on a play, label documents with exactly the classifier's own softmax; a pipeline
/// that filters on the score reruns byte for byte; and its mistakes are one line at pipeline-load time.
final class SequenceClassifierScoringTests: XCTestCase {
    static let labels = ["low", "mid", "high"]

    /// A classifier in memory and its exported directory, with how a text becomes its ids.
    struct Classifier {
        let directory: URL
        let model: SequenceClassifier
        let tokenizer: ByteLevelBPETokenizer
        let prefix: [Int], suffix: [Int]
        let pad: Int
        /// Positions the model holds (the step's default max_length).
        let context: Int

        /// The classifier's softmax over `labels` for `text`, computed directly: one unpadded sequence, the special
        /// tokens written out, the text cut to fit `maxLength`.
        func probabilities(_ text: String, maxLength: Int? = nil) -> [Double] {
            let room = (maxLength ?? context) - prefix.count - suffix.count
            let ids = (prefix + tokenizer.encode(text).prefix(room) + suffix).map { Int32($0) }
            model.eval()
            let logits = noGrad { model.logits(PaddedTokens([ids], padToken: Int32(pad))) }.scalars.map { Double($0) }
            let exps = logits.map { exp($0 - logits.max()!) }
            return exps.map { $0 / exps.reduce(0, +) }
        }
    }

    /// Lines of a play, 1 to 200 characters: the tokenizer's training text and the documents.
    static let lines: [String] = {
        let play = try! String(contentsOf: repositoryRoot.appendingPathComponent("data/shakespeare/hamlet.txt"), encoding: .utf8)
        return play.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }()

    /// 60 documents of one to twelve lines (so of very different lengths), and an empty one.
    static let texts: [String] = (0..<60).map { lines[(300 + 13 * $0)..<(300 + 13 * $0 + 1 + $0 % 12)].joined(separator: "\n") } + [""]

    /// BERT reads `[CLS] text [SEP]` padded with [PAD]; GPT-2 `<|endoftext|> text`, padded with <|endoftext|>. The
    /// heads' weights are drawn at std 1 (not transformers' 0.02) so that the probabilities spread out.
    static func makeClassifier(bert: Bool, in root: URL) throws -> Classifier {
        let tokenizer = ByteLevelBPETokenizer.train(documents: lines.prefix(2000), vocabularySize: 320,
                                                    specialTokens: bert ? ["[PAD]", "[CLS]", "[SEP]"] : ["<|endoftext|>"])
        let tokenizerURL = root.appendingPathComponent(bert ? "bert-tokenizer.json" : "gpt-tokenizer.json")
        try tokenizer.save(to: tokenizerURL)
        let directory = root.appendingPathComponent(bert ? "bert" : "gpt2")
        var generator = RandomGenerator(seed: 7)
        let context = 24
        if bert {
            let config = BertConfig(vocabSize: tokenizer.vocabularySize, hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32,
                                    maxPositions: context, dropout: 0)
            let model = BertForSequenceClassification(bert: BertModel(config, generator: &generator), labels: 3, generator: &generator)
            Initializer.normal(model.classifier.weight, std: 1, generator: &generator)
            let pad = tokenizer.specialTokenID("[PAD]")!
            // [CLS] through one random layer barely depends on the text: a bias of minus the mean logits spreads the
            // argmax over the labels.
            let (cls, sep) = (Int32(tokenizer.specialTokenID("[CLS]")!), Int32(tokenizer.specialTokenID("[SEP]")!))
            let sample = texts.map { [cls] + tokenizer.encode($0).prefix(context - 2).map { Int32($0) } + [sep] }
            let logits = noGrad { model.logits(PaddedTokens(sample, padToken: Int32(pad))) }.scalars
            for label in 0..<3 {
                model.classifier.bias!.data[label] = -stride(from: label, to: logits.count, by: 3).map { logits[$0] }.reduce(0, +)
                    / Float(sample.count)
            }
            try exportHuggingFace(model, labels: labels, to: directory, tokenizer: tokenizerURL, padToken: pad)
            return Classifier(directory: directory, model: model, tokenizer: tokenizer, prefix: [tokenizer.specialTokenID("[CLS]")!],
                              suffix: [tokenizer.specialTokenID("[SEP]")!], pad: pad, context: context)
        }
        let endOfText = tokenizer.specialTokenID("<|endoftext|>")!
        let config = GPTConfig(vocabSize: tokenizer.vocabularySize, contextLength: context, layers: 1, dModel: 16, heads: 2, dropout: 0)
        let model = GPTForSequenceClassification(decoder: GPTModel(config, generator: &generator), labels: 3, padToken: endOfText,
                                                 generator: &generator)
        Initializer.normal(model.score.weight, std: 1, generator: &generator)
        try exportHuggingFace(model, labels: labels, to: directory, tokenizer: tokenizerURL, endOfTextToken: endOfText)
        return Classifier(directory: directory, model: model, tokenizer: tokenizer, prefix: [endOfText], suffix: [],
                          pad: endOfText, context: context)
    }

    private func step(_ keys: String) throws -> SequenceClassifierScore {
        ModelScorers.register()
        return try XCTUnwrap(try makeStep("sequence_classifier", keys) as? SequenceClassifierScore)
    }

    /// meta.<field> is the argmax label and meta.<field>_score its probability (or score_label's), within 1e-6 of the
    /// directly computed softmax: batches of padded, length-sorted texts change only the last bits.
    private func checkMetaIsTheClassifiersSoftmax(bert: Bool) throws {
        let classifier = try Self.makeClassifier(bert: bert, in: try makeTemporaryDirectory())
        for (keys, scoreLabel) in [("batch_size: 8", nil), ("field: judge\nscore_label: mid\nbatch_size: 5\nmax_length: 10", "mid")] {
            let scorer = try step("model: \(classifier.directory.path)\n\(keys)")
            XCTAssertTrue(scorer.needsCorpusPass)
            let (kept, dropped) = try runSteps([scorer], documents(Self.texts))
            XCTAssertTrue(dropped.isEmpty)
            XCTAssertEqual(kept.count, Self.texts.count)
            let field = scoreLabel == nil ? "classifier" : "judge"
            for document in kept {
                let expected = classifier.probabilities(document.text, maxLength: scoreLabel == nil ? nil : 10)
                let best = expected.indices.max { expected[$0] < expected[$1] }!
                XCTAssertEqual(document.meta[field], .string(Self.labels[best]), document.text)
                guard case .number(let score) = document.meta[field + "_score"] else { return XCTFail("\(document.meta)") }
                XCTAssertEqual(score, expected[scoreLabel.map { Self.labels.firstIndex(of: $0)! } ?? best], accuracy: 1e-6)
            }
            // The classifier is not constant: the documents get every label.
            XCTAssertEqual(Set(kept.map { "\($0.meta[field]!)" }).count, 3, "\(kept.map { $0.meta[field] })")
        }
    }

    func testGPT2ClassifierMetaIsItsOwnSoftmax() throws { try checkMetaIsTheClassifiersSoftmax(bert: false) }

    func testBertClassifierMetaIsItsOwnSoftmax() throws { try checkMetaIsTheClassifiersSoftmax(bert: true) }

    /// batch_size 1 scores in `apply` (no corpus pass), one unpadded text per forward: exactly the direct softmax.
    func testBatchSizeOneScoresEachDocumentAsItComesExactly() throws {
        let classifier = try Self.makeClassifier(bert: false, in: try makeTemporaryDirectory())
        let scorer = try step("model: \(classifier.directory.path)\nbatch_size: 1\nscore_label: high")
        XCTAssertFalse(scorer.needsCorpusPass)
        for text in Self.texts.prefix(10) {
            var document = documents([text])[0]
            XCTAssertEqual(try scorer.apply(to: &document), .keep)
            XCTAssertEqual(document.meta["classifier_score"], .number(classifier.probabilities(text)[2]))
        }
    }

    /// A whole run: the step, then a filter keeping the top half by the score; the kept documents are the top half by
    /// the direct softmax, and a second run writes the same bytes.
    func testAPipelineFiltersOnTheScoreAndRerunsByteForByte() throws {
        let root = try makeTemporaryDirectory()
        let classifier = try Self.makeClassifier(bert: true, in: root)
        let lines = Self.texts.dropLast().map { MetaValue.object(["text": .string($0)]).jsonText }
        try lines.joined(separator: "\n").write(to: root.appendingPathComponent("docs.jsonl"), atomically: true, encoding: .utf8)
        let pipeline = root.appendingPathComponent("judge.yaml")
        try """
            steps:
              - kind: sequence_classifier
                model: \(classifier.directory.path)
                field: judge
                score_label: high
                batch_size: 16
              - kind: filter
                field: judge_score
                keep_top_percent: 50
            """.write(to: pipeline, atomically: true, encoding: .utf8)
        ModelScorers.register()
        func run(_ out: String) throws -> Data {
            let curation = CurationRun(input: try DocumentInput(paths: [root.appendingPathComponent("docs.jsonl").path]),
                                       pipeline: try CurationPipeline.load(pipeline.path), output: root.appendingPathComponent(out))
            _ = try curation.run()
            return try Data(contentsOf: root.appendingPathComponent(out).appendingPathComponent("curated.jsonl"))
        }
        let first = try run("a"), second = try run("b")
        XCTAssertEqual(first, second)
        XCTAssertEqual(try Data(contentsOf: root.appendingPathComponent("a/stats.json")),
                       try Data(contentsOf: root.appendingPathComponent("b/stats.json")))

        let scores = Self.texts.dropLast().map { classifier.probabilities($0)[2] }
        let top = Set(scores.indices.sorted { scores[$0] > scores[$1] }.prefix(30).map { Self.texts[$0] })
        let kept = try String(decoding: first, as: UTF8.self).split(separator: "\n").map { line in
            try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["text"] as? String)
        }
        XCTAssertEqual(Set(kept), top)
    }

    /// `model:` naming a `pretrain finetune-text --out` directory means its seed of best dev accuracy, with the
    /// fine-tuning's max_length.
    func testAFineTuningOutputDirectoryMeansItsBestSeed() throws {
        let root = try makeTemporaryDirectory()
        let classifier = try Self.makeClassifier(bert: false, in: root)
        let out = root.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: classifier.directory, to: out.appendingPathComponent("seed-1"))
        func seed(_ seed: Int, dev: Double) -> String {
            let score = #"{"accuracy": \#(dev), "macroF1": \#(dev), "count": 4}"#
            return #"{"seed": \#(seed), "best_step": 1, "steps": 2, "train_examples": 8, "dev": \#(score), "test": \#(score), "dev_curve": []}"#
        }
        let spread = #"{"mean": 0.6, "sd": 0.1}"#
        try """
            {"checkpoint": "ckpt", "task": "t", "labels": ["low", "mid", "high"], "method": "head", "head": "last", "linear_probe": false,
             "steps": 2, "batch_size": 8, "learning_rate": 0.00005, "max_length": 12,
             "seeds": [\(seed(0, dev: 0.5)), \(seed(1, dev: 0.75)), \(seed(2, dev: 0.75))],
             "dev_accuracy": \(spread), "test_accuracy": \(spread), "test_macro_f1": \(spread)}
            """.write(to: out.appendingPathComponent("results.json"), atomically: true, encoding: .utf8)
        let chosen = try step("model: \(out.path)")
        XCTAssertEqual(chosen.directory.lastPathComponent, "seed-1")
        XCTAssertEqual(chosen.inputs.maxLength, 12)
        XCTAssertEqual(try step("model: \(out.path)/seed-1").inputs.maxLength, 12)
        XCTAssertEqual(try step("model: \(out.path)\nmax_length: 20").inputs.maxLength, 20)
    }

    /// Each mistake is one line naming the pipeline step, the key and the file, before any document is read.
    func testMistakesAreOneLineAtPipelineLoad() throws {
        let root = try makeTemporaryDirectory()
        let classifier = try Self.makeClassifier(bert: false, in: root)
        let model = classifier.directory.path
        ModelScorers.register()
        func load(_ keys: String) throws { _ = try makeStep("sequence_classifier", keys) }
        assertThrows(["test.yaml:", "steps[0] (sequence_classifier)", "needs a 'model:'"]) { try load("field: x") }
        assertThrows(["steps[0] (sequence_classifier)", "model", "/no/such/classifier: no such directory"]) {
            try load("model: /no/such/classifier")
        }
        let empty = root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        assertThrows(["model", "\(empty.path) holds neither config.json", "results.json"]) { try load("model: \(empty.path)") }
        // A causal language model's directory: config.json names no sequence classifier.
        let base = root.appendingPathComponent("base")
        try FileManager.default.copyItem(at: classifier.directory, to: base)
        let config = base.appendingPathComponent("config.json")
        try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "GPT2ForSequenceClassification", with: "GPT2LMHeadModel")
            .write(to: config, atomically: true, encoding: .utf8)
        assertThrows(["model", "\(config.path)", "does not name GPT2ForSequenceClassification"]) { try load("model: \(base.path)") }
        assertThrows(["score_label", "'toxic' is not a label of \(model)/config.json", "low, mid, high"]) {
            try load("model: \(model)\nscore_label: toxic")
        }
        assertThrows(["batch_size must be ≥ 1, got 0"]) { try load("model: \(model)\nbatch_size: 0") }
        assertThrows(["max_length must be in 1…24", "got 25"]) { try load("model: \(model)\nmax_length: 25") }
        let noTokenizer = root.appendingPathComponent("no-tokenizer")
        try FileManager.default.copyItem(at: classifier.directory, to: noTokenizer)
        try FileManager.default.removeItem(at: noTokenizer.appendingPathComponent("tokenizer.json"))
        assertThrows(["model", "\(noTokenizer.path)/tokenizer.json is missing"]) { try load("model: \(noTokenizer.path)") }
    }

    /// `pretrain curate` stops with `Error: …` before it reads a document (the input here is not even JSON).
    func testTheCommandStopsAtAWrongLabelBeforeReadingDocuments() throws {
        let root = try makeTemporaryDirectory()
        let classifier = try Self.makeClassifier(bert: false, in: root)
        try "{not json".write(to: root.appendingPathComponent("docs.jsonl"), atomically: true, encoding: .utf8)
        try "steps:\n  - kind: sequence_classifier\n    model: \(classifier.directory.path)\n    score_label: toxic\n"
            .write(to: root.appendingPathComponent("p.yaml"), atomically: true, encoding: .utf8)
        let result = try runPretrain(["curate", "docs.jsonl", "--pipeline", "p.yaml", "--out", "out"], in: root)
        XCTAssertEqual(result.status, 1, result.output)
        let lines = result.output.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.output)
        XCTAssertTrue(result.output.hasPrefix("Error: p.yaml:4:18: steps[0] (sequence_classifier): score_label 'toxic' is not a label"),
                      result.output)
    }
}
