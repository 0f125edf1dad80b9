import Foundation
import Layers
import Tensors
import TestSupport
import TextClassification
import TextTasks
import Training
import XCTest

/// Prompt-based fine-tuning and self-training of tiny checkpoints through `TextClassifierFineTuning`, on the royalty
/// task of `FinetuneTextCommandLineTests` with a prompt and unlabelled texts; and `pretrain finetune-text --method
/// prompt`, `--self-train` and their one-line errors.
final class PromptFineTuningTests: XCTestCase {
    static let prompt = """
        prompt:
          template: "{text}. It is of a"
          cloze: "{text}. It is of a{mask}."
          verbalizer: {common: " day", royal: " king"}

        """

    /// ROOT/corpus, ROOT/task with a prompt and 40 unlabelled texts, ROOT/plain-task without a prompt, and the
    /// checkpoints ROOT/<flavor> of `flavors`.
    static func writeFixtures(in root: URL, flavors: [String]) throws {
        try FinetuneTextCommandLineTests.writeCorpusAndTask(in: root)
        let task = root.appendingPathComponent("task")
        try FileManager.default.copyItem(at: task, to: root.appendingPathComponent("plain-task"))
        let yaml = task.appendingPathComponent("task.yaml")
        try (String(contentsOf: yaml, encoding: .utf8) + prompt).write(to: yaml, atomically: true, encoding: .utf8)
        let words = FinetuneTextCommandLineTests.words.filter { $0 != "king" && $0 != "queen" }
        let lines = (0..<40).map { index -> String in
            var chosen = (0..<6).map { words[(index * 5 + $0 * 3) % words.count] }
            if index % 2 == 1 { chosen.insert(index % 4 == 1 ? "king" : "queen", at: index % 5) }
            return "{\"text\": \"\(chosen.joined(separator: " "))\"}"
        }
        try (lines.joined(separator: "\n") + "\n").write(to: task.appendingPathComponent("unlabelled.jsonl"), atomically: true,
                                                          encoding: .utf8)
        for flavor in flavors { try FinetuneTextCommandLineTests.train(flavor, in: root) }
    }

    static func fineTuning(_ root: URL, _ flavor: String, method: FineTuningMethod) -> TextClassifierFineTuning {
        var fineTuning = TextClassifierFineTuning(checkpoint: root.appendingPathComponent(flavor))
        fineTuning.method = method
        (fineTuning.settings.steps, fineTuning.settings.learningRate, fineTuning.settings.evaluateEvery) = (20, 3e-3, 5)
        return fineTuning
    }

    /// The report's step-0 test score is the checkpoint's own cloze (BERT) or next-token (GPT-2) prediction over the
    /// two label tokens, computed here from a plain forward pass of the loaded model.
    func testStepZeroIsTheCheckpointsZeroShotPrompt() throws {
        let root = try makeTemporaryDirectory()
        try Self.writeFixtures(in: root, flavors: ["bert", "gpt2"])
        let task = try TextTask.load(root.appendingPathComponent("task"))
        for flavor in ["bert", "gpt2"] {
            let fineTuning = Self.fineTuning(root, flavor, method: .prompt)
            let report = try fineTuning.run(task: task, shots: 8, seeds: [0])
            XCTAssertEqual(report.method, .prompt)
            XCTAssertEqual(report.head, flavor == "bert" ? "mask" : "last")
            let stepZero = try XCTUnwrap(report.seeds[0].stepZero)

            let backbone = try fineTuning.prepare(task: task)
            let prompt = try XCTUnwrap(backbone.prompt)
            let loaded = try loadCheckpoint(root.appendingPathComponent(flavor))
            var predicted: [Int] = []
            for example in task.test {
                let ids = backbone.encode(example.text)
                let tokens = IntTensor(ids, shape: [1, ids.count])
                let logits = noGrad { loaded.decoder?.forward(tokens: tokens) ?? loaded.encoder!.forward(tokens: tokens) }
                let position = flavor == "bert" ? ids.firstIndex(of: prompt.maskToken!)! : ids.count - 1
                let row = prompt.labelTokens.map { logits.scalars[position * logits.size(2) + Int($0)] }
                predicted.append(row[1] > row[0] ? 1 : 0)
            }
            let truth = task.test.map { task.labelIndex($0.label)! }
            XCTAssertEqual(stepZero.test, ClassificationScore(predicted: predicted, truth: truth, classes: 2), flavor)
            XCTAssertEqual(report.stepZeroTestAccuracy, Spread([stepZero.test.accuracy]))
        }
    }

    /// No prediction reaches probability 1.01: stage c is skipped, and the last stage is plain fine-tuning of the
    /// checkpoint, bit for bit.
    func testAThresholdAboveOneKeepsNoPseudoLabelAndSkipsStageC() throws {
        let root = try makeTemporaryDirectory()
        try Self.writeFixtures(in: root, flavors: ["gpt2"])
        let task = try TextTask.load(root.appendingPathComponent("task"))
        let fineTuning = Self.fineTuning(root, "gpt2", method: .head)
        var settings = SelfTrainingSettings()
        settings.threshold = 1.01
        var lines: [String] = []
        let report = try fineTuning.runSelfTraining(task: task, shots: 8, seeds: [0], selfTraining: settings) { lines.append($0) }
        let stages = try XCTUnwrap(report.seeds[0].selfTraining)
        XCTAssertEqual(stages.pseudoLabels, 0)
        XCTAssertEqual(stages.pseudoLabelsPerClass, ["common": 0, "royal": 0])
        XCTAssertNil(stages.pseudoLabelled)
        XCTAssertTrue(lines.contains("seed 0 (c): skipped, no pseudo-label; (d) fine-tunes the checkpoint on the labelled examples alone"),
                      lines.joined(separator: "\n"))
        XCTAssertEqual(report.selfTraining?.threshold, 1.01)
        XCTAssertEqual(report.selfTraining?.unlabelled, 40)
        XCTAssertNil(report.selfTraining?.maxPseudoLabels)

        var plain = try fineTuning.run(task: task, shots: 8, seeds: [0]).seeds[0]
        plain.selfTraining = stages
        XCTAssertEqual(report.seeds[0], plain)
    }

    /// The pseudo-labels kept are exactly the predictions whose probability reaches the threshold — those of the
    /// classifier `pseudoLabels` fine-tunes for the same seed; the stages run in order; a rerun gives the same report.
    func testPseudoLabelsRespectTheThresholdAndTheStagesRunInOrder() throws {
        let root = try makeTemporaryDirectory()
        try Self.writeFixtures(in: root, flavors: ["bert"])
        let task = try TextTask.load(root.appendingPathComponent("task"))
        let fineTuning = Self.fineTuning(root, "bert", method: .prompt)
        let labelled = try fineTuning.pseudoLabels(task: task, shots: 8, seed: 1, texts: task.unlabelled)
        XCTAssertEqual(labelled.count, 40)
        XCTAssertTrue(labelled.allSatisfy { $0.probability >= 0.5 && $0.probability <= 1 })
        var settings = SelfTrainingSettings()
        settings.threshold = labelled.map(\.probability).sorted()[20]
        let kept = labelled.filter { $0.probability >= settings.threshold }

        var lines: [String] = []
        let report = try fineTuning.runSelfTraining(task: task, shots: 8, seeds: [1], selfTraining: settings) { lines.append($0) }
        let stages = try XCTUnwrap(report.seeds[0].selfTraining)
        XCTAssertEqual(stages.pseudoLabels, kept.count)
        XCTAssertEqual(stages.pseudoLabelsPerClass, ["common": kept.filter { $0.label == 0 }.count,
                                                     "royal": kept.filter { $0.label == 1 }.count])
        XCTAssertEqual(stages.pseudoLabelled?.trainExamples, kept.count)
        XCTAssertNotNil(stages.labelled.stepZero, "a prompt is scored before its first update")
        let order = ["seed 1 (a: labelled) step 0/20", "seed 1 (b): \(kept.count) of 40", "seed 1 (c: pseudo-labelled) step 20/20",
                     "seed 1 (d: labelled again) step 20/20", "seed 1: dev accuracy"]
        let positions = order.map { prefix in lines.firstIndex { $0.hasPrefix(prefix) } }
        XCTAssertFalse(positions.contains(nil), "\(order) in:\n\(lines.joined(separator: "\n"))")
        XCTAssertEqual(positions.compactMap { $0 }, positions.compactMap { $0 }.sorted())

        let again = try fineTuning.runSelfTraining(task: task, shots: 8, seeds: [1], selfTraining: settings)
        XCTAssertEqual(again, report)
    }

    func testAtMostMaxPseudoLabelsAreKeptTheMostProbableFirst() {
        var settings = SelfTrainingSettings()
        let probabilities = [[0.95, 0.05], [0.6, 0.4], [0.02, 0.98], [0.05, 0.95], [0.5, 0.5]]
        XCTAssertEqual(settings.select(probabilities).map(\.index), [0, 2, 3])
        XCTAssertEqual(settings.select(probabilities).map(\.label), [0, 1, 1])
        settings.maxPseudoLabels = 2
        XCTAssertEqual(settings.select(probabilities).map(\.index), [0, 2], "0.98, then 0.95 of the earlier text")
        settings.threshold = 1.01
        XCTAssertEqual(settings.select(probabilities), [])
        settings.threshold = -1
        XCTAssertEqual(settings.problem, "--threshold must be a number ≥ 0, got -1.0")
    }

    // MARK: - pretrain finetune-text

    func testTheCommandFineTunesByPromptAndSelfTrains() throws {
        let root = try makeTemporaryDirectory()
        try Self.writeFixtures(in: root, flavors: ["bert", "gpt2"])
        let common = ["--task", "task", "--shots", "8", "--steps", "20", "--lr", "3e-3", "--eval-every", "10", "--method", "prompt"]
        let prompt = try runPretrain(["finetune-text", "bert", "--seeds", "2"] + common, in: root)
        XCTAssertEqual(prompt.status, 0, prompt.output)
        for expected in ["royalty (2 labels, 8 per class, prompt, reading the mask)", "seed 1 step 0/20: dev accuracy",
                         "| mean ± sd |", "step 0 (zero-shot prompt, 2 seeds): dev accuracy"] {
            XCTAssertTrue(prompt.output.contains(expected), "lacks \(expected):\n\(prompt.output)")
        }
        let report = try JSONDecoder().decode(FineTuningReport.self, from: Data(
            contentsOf: root.appendingPathComponent("bert/finetune-text/royalty-8shot-prompt.json")))
        XCTAssertEqual(report.method, .prompt)
        XCTAssertEqual(report.seeds.compactMap(\.stepZero).count, 2)

        let selfTrained = try runPretrain(["finetune-text", "gpt2", "--seeds", "1", "--self-train", "--threshold", "0.5"] + common,
                                          in: root)
        XCTAssertEqual(selfTrained.status, 0, selfTrained.output)
        for expected in ["royalty (2 labels, 8 per class, prompt, reading the last, self-trained)", "seed 0 (b): 40 of 40 unlabelled",
                         "self-training: pseudo-labels of probability ≥ 0.5 among 40 unlabelled texts", "seed 0: (a) labelled: dev"] {
            XCTAssertTrue(selfTrained.output.contains(expected), "lacks \(expected):\n\(selfTrained.output)")
        }
        let selfReport = try JSONDecoder().decode(FineTuningReport.self, from: Data(
            contentsOf: root.appendingPathComponent("gpt2/finetune-text/royalty-8shot-prompt-self-train.json")))
        XCTAssertEqual(selfReport.selfTraining?.threshold, 0.5)
        XCTAssertEqual(selfReport.seeds[0].selfTraining?.pseudoLabels, 40)
    }

    func testPromptMistakesAreOneLineErrors() throws {
        let root = try makeTemporaryDirectory()
        try Self.writeFixtures(in: root, flavors: ["gpt2"])
        let cases: [([String], String)] = [
            (["--method", "prompt", "--out", "x"], "a --method prompt classifier is the LM head inside a prompt and is not exported"),
            (["--method", "prompt", "--linear-probe"], "--method prompt has no new head"),
            (["--method", "prompt", "--head", "mean"], "--head mean: --method prompt reads the mask token"),
            (["--method", "cloze"], "--method cloze: expected head or prompt"),
            (["--self-train", "--out", "x"], "--self-train does not (write the results with --results)"),
            (["--self-train", "--threshold=-1"], "--threshold must be a number ≥ 0, got -1.0"),
            (["--threshold", "0.5"], "--threshold and --max-pseudo-labels choose pseudo-labels: they need --self-train"),
        ]
        for (arguments, message) in cases + [(["--task", "plain-task", "--method", "prompt"], "has no prompt (template, cloze, verbalizer)")] {
            let task = arguments.contains("--task") ? [] : ["--task", "task"]
            let run = try runPretrain(["finetune-text", "gpt2"] + task + arguments + ["--steps", "2"], in: root)
            XCTAssertEqual(run.status, 1, run.output)
            XCTAssertTrue(run.output.contains(message), "\(arguments): \(run.output)")
            XCTAssertEqual(run.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1,
                           "\(arguments): \(run.output)")
        }
        // Two labels whose words begin with the same token.
        let yaml = root.appendingPathComponent("task/task.yaml")
        try String(contentsOf: yaml, encoding: .utf8).replacingOccurrences(of: "{common: \" day\", royal: \" king\"}",
                                                                         with: "{common: \" king\", royal: \" kings\"}")
            .write(to: yaml, atomically: true, encoding: .utf8)
        let run = try runPretrain(["finetune-text", "gpt2", "--task", "task", "--method", "prompt"], in: root)
        XCTAssertEqual(run.status, 1, run.output)
        XCTAssertTrue(run.output.contains("task royalty: labels 'common' (\" king\") and 'royal' (\" kings\") begin with the same token"),
                      run.output)
        XCTAssertEqual(run.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, run.output)
    }
}
