import Foundation
import HFInterop
import Layers
import Tensors
import TestSupport
import TextClassification
import TextTasks
import XCTest

/// `pretrain finetune-text` as a user runs it: tiny GPT-2 and BERT checkpoints trained from a tokenized corpus, a task
/// directory written here, the table, results.json and the Hugging Face classifiers; and its one-line errors.
final class FinetuneTextCommandLineTests: XCTestCase {
    static let words = ["the", "king", "queen", "speaks", "to", "a", "fool", "and", "his", "lord", "of", "night", "day", "sweet"]

    /// ROOT/corpus (a BPE of 300 with <|endoftext|> and [MASK]) and ROOT/task: "royal" texts name a king or a queen,
    /// "common" ones neither; 24 train, 8 dev, 8 test examples per label.
    static func writeCorpusAndTask(in root: URL) throws {
        var draws = (0..<20000).map { ($0 * 7919 + 13) % words.count }.makeIterator()
        func sentence(royal: Bool?) -> String {
            var chosen = (0..<8).map { _ in words[draws.next()!] }
            if let royal {
                chosen = chosen.filter { $0 != "king" && $0 != "queen" }
                if royal { chosen.insert(draws.next()! % 2 == 0 ? "king" : "queen", at: draws.next()! % (chosen.count + 1)) }
            }
            return chosen.joined(separator: " ")
        }
        for (name, lines) in [("train.txt", 200), ("val.txt", 60)] {
            try (0..<lines).map { _ in sentence(royal: nil) }.joined(separator: ".\n")
                .write(to: root.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let tokenize = try runPretrain(["tokenize", "--train-vocab", "300", "--special-tokens", "<|endoftext|>,[MASK]",
                                        "--val-files", "val", "--out", "corpus", "train.txt", "val.txt"], in: root)
        XCTAssertEqual(tokenize.status, 0, tokenize.output)
        let task = root.appendingPathComponent("task")
        try FileManager.default.createDirectory(at: task, withIntermediateDirectories: true)
        try "name: royalty\ndescription: does the text name a king or a queen\nlabels: [common, royal]\nsource: a test\nsplit: by text\n"
            .write(to: task.appendingPathComponent("task.yaml"), atomically: true, encoding: .utf8)
        for (split, count) in [("train", 24), ("dev", 8), ("test", 8)] {
            let lines = (0..<(2 * count)).map { index -> String in
                let royal = index % 2 == 1
                let object = ["text": sentence(royal: royal), "label": royal ? "royal" : "common"]
                return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: .sortedKeys), as: UTF8.self)
            }
            try (lines.joined(separator: "\n") + "\n").write(to: task.appendingPathComponent("\(split).jsonl"), atomically: true, encoding: .utf8)
        }
    }

    /// Trains `flavor` for a few steps into ROOT/<flavor>.
    static func train(_ flavor: String, in root: URL) throws {
        let objective = flavor == "bert" ? "objective: {kind: masked_lm}\n" : ""
        try """
            model: {flavor: \(flavor), layers: 1, d_model: 16, heads: 2, context: 16}
            \(objective)data: {corpus: corpus}
            optim: {batch_size: 4}
            train: {steps: 4, eval_every: 4, log_every: 1}
            """.write(to: root.appendingPathComponent("\(flavor).yaml"), atomically: true, encoding: .utf8)
        let run = try runPretrain(["train", "\(flavor).yaml", "--run-dir", flavor], in: root)
        XCTAssertEqual(run.status, 0, run.output)
    }

    func testFineTunesAndExportsGPT2AndBert() throws {
        let root = try makeTemporaryDirectory()
        try Self.writeCorpusAndTask(in: root)
        for (flavor, architecture) in [("gpt2", "GPT2ForSequenceClassification"), ("bert", "BertForSequenceClassification")] {
            try Self.train(flavor, in: root)
            let run = try runPretrain(["finetune-text", flavor, "--task", "task", "--shots", "8", "--seeds", "2", "--steps", "30",
                                       "--lr", "3e-3", "--eval-every", "10", "--out", "\(flavor)-cls"], in: root)
            XCTAssertEqual(run.status, 0, run.output)
            for expected in ["royalty (2 labels, 8 per class, head \(flavor == "bert" ? "cls" : "last"))",
                             "| seed | best step | dev accuracy | test accuracy | test macro-F1 |", "| 0 | ", "| 1 | ", "| mean ± sd |",
                             "seed 1 step 30/30"] {
                XCTAssertTrue(run.output.contains(expected), "lacks \(expected):\n\(run.output)")
            }

            let out = root.appendingPathComponent("\(flavor)-cls")
            let report = try JSONDecoder().decode(FineTuningReport.self, from: Data(contentsOf: out.appendingPathComponent("results.json")))
            XCTAssertEqual(report.seeds.map(\.seed), [0, 1])
            XCTAssertEqual(report.seeds.map(\.trainExamples), [16, 16])
            XCTAssertEqual(report.seeds[0].test.count, 16)
            XCTAssertEqual(report.labels, ["common", "royal"])
            XCTAssertEqual(report.testAccuracy, Spread(report.seeds.map(\.test.accuracy)))

            // Each seed's export imports as the classifier it was, and gives the logits predictions.json recorded.
            let seed0 = out.appendingPathComponent("seed-0")
            let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: seed0.appendingPathComponent("config.json"))) as? [String: Any])
            XCTAssertEqual(config["architectures"] as? [String], [architecture])
            XCTAssertEqual(config["id2label"] as? [String: String], ["0": "common", "1": "royal"])
            XCTAssertNotNil(config["pad_token_id"] as? Int)
            for file in ["model.safetensors", "tokenizer.json", "tokenizer_config.json", "predictions.json"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: seed0.appendingPathComponent(file).path), file)
            }
            let imported = try importHuggingFaceClassifier(directory: seed0)
            let predictions = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: seed0.appendingPathComponent("predictions.json"))) as? [String: Any])
            let examples = try XCTUnwrap(predictions["examples"] as? [[String: Any]])
            XCTAssertEqual(examples.count, 16)
            let pad = Int32(try XCTUnwrap(predictions["pad_token_id"] as? Int))
            let ids = examples.map { ($0["input_ids"] as! [Int]).map { Int32($0) } }
            let logits = SequenceClassifierTraining.logits(imported.model, ids.map { EncodedExample(ids: $0, label: 0) }, padToken: pad)
            XCTAssertEqual(logits, examples.map { ($0["logits"] as! [Double]).map { Float($0) } })
        }
    }

    /// Without --out, results.json goes to the checkpoint's run; --linear-probe and --head mean are recorded.
    func testALinearProbeWritesItsResultsBesideTheRun() throws {
        let root = try makeTemporaryDirectory()
        try Self.writeCorpusAndTask(in: root)
        try Self.train("bert", in: root)
        let run = try runPretrain(["finetune-text", "bert", "--task", "task", "--seeds", "1", "--steps", "10", "--linear-probe",
                                   "--head", "mean", "--quiet"], in: root)
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertFalse(run.output.contains("step 10/10"), "--quiet prints only the table:\n\(run.output)")
        let url = root.appendingPathComponent("bert/finetune-text/royalty-all-probe.json")
        let report = try JSONDecoder().decode(FineTuningReport.self, from: Data(contentsOf: url))
        XCTAssertTrue(report.linearProbe)
        XCTAssertEqual(report.head, "mean")
        XCTAssertEqual(report.learningRate, 1e-3)
        XCTAssertEqual(report.seeds[0].trainExamples, 48)
    }

    /// A user's mistakes end the command with one line that names the checkpoint, the label or the flag.
    func testMistakesAreOneLineErrors() throws {
        let root = try makeTemporaryDirectory()
        try Self.writeCorpusAndTask(in: root)
        try Self.train("gpt2", in: root)
        try "{\"text\": \"the king\", \"label\": \"regal\"}\n".write(to: root.appendingPathComponent("task/dev.jsonl"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: root.appendingPathComponent("task"), to: root.appendingPathComponent("bad-task"))
        try FileManager.default.removeItem(at: root.appendingPathComponent("task/dev.jsonl"))
        try Self.writeDevSplit(in: root.appendingPathComponent("task"))
        let cases: [([String], String)] = [
            (["finetune-text", "missing", "--task", "task"], "missing: no such checkpoint or run directory"),
            (["finetune-text", "gpt2", "--task", "bad-task"], "label 'regal' is not one of task.yaml's labels (common, royal)"),
            (["finetune-text", "gpt2", "--task", "task", "--shots", "0"], "--shots must be ≥ 1, got 0"),
            (["finetune-text", "gpt2", "--task", "task", "--head", "cls"], "--head cls: a decoder classifier pools last or mean"),
            (["finetune-text", "gpt2", "--task", "task", "--max-length", "99"], "--max-length 99: the model holds 1…16 tokens"),
            (["finetune-text", "gpt2", "--task", "nowhere"], "nowhere: no such task directory"),
            (["finetune-text", "gpt2", "--task", "task", "--head", "mean", "--out", "x"], "--head mean has no such class"),
        ]
        for (arguments, message) in cases {
            let run = try runPretrain(arguments, in: root)
            XCTAssertEqual(run.status, 1, run.output)
            XCTAssertTrue(run.output.contains(message), "\(arguments): \(run.output)")
            XCTAssertEqual(run.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1,
                           "\(arguments): \(run.output)")
        }
    }

    static func writeDevSplit(in task: URL) throws {
        try "{\"text\": \"the king speaks\", \"label\": \"royal\"}\n{\"text\": \"a fool\", \"label\": \"common\"}\n"
            .write(to: task.appendingPathComponent("dev.jsonl"), atomically: true, encoding: .utf8)
    }
}
