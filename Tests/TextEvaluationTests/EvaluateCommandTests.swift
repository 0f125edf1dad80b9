import Foundation
import Tensors
import TestSupport
import TextData
import Training
import XCTest

/// `pretrain evaluate` end to end: a tiny decoder trained here on a few scenes of Hamlet, a task directory written
/// by hand, the table, the JSON and the log-likelihoods; and each mistake a user can make as one line naming it.
final class EvaluateCommandTests: XCTestCase {
    nonisolated(unsafe) private static var root: URL?

    /// root/run (a 1-layer decoder, 30 steps, context 32), root/tasks/mood (a two-label task) and root/plain (no prompt).
    private func fixtures() throws -> URL {
        if let root = Self.root { return root }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("evaluate-command-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: root)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let play = try String(contentsOf: repositoryRoot.appendingPathComponent("data/shakespeare/hamlet.txt"), encoding: .utf8)
        let text = root.appendingPathComponent("hamlet.txt")
        try Data(String(play.prefix(40_000)).utf8).write(to: text)
        var preparation = CorpusPreparation(inputs: [text], split: .fraction(0.1),
                                            tokenizer: .train(vocabularySize: 300, minFrequency: 2, specialTokens: ["<|endoftext|>"]))
        preparation.shardTokens = 1 << 20
        _ = try preparation.run(into: root.appendingPathComponent("corpus"))
        var recipe = Recipe()
        recipe.data.corpus = root.appendingPathComponent("corpus").path
        (recipe.model.layers, recipe.model.dModel, recipe.model.heads, recipe.model.context) = (1, 32, 2, 32)
        (recipe.optim.lr, recipe.optim.batchSize, recipe.train.steps, recipe.train.evalEvery) = (3e-3, 8, 30, 0)
        try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("run"), corpus: try TrainingCorpus.load(recipe.data),
                    console: ConsoleProgress(mode: .silent)).run()

        let lines = { (texts: [(String, String)]) in
            texts.map { #"{"text": "\#($0.0)", "label": "\#($0.1)", "group": ""}"# }.joined(separator: "\n") + "\n"
        }
        let train = [("I am so happy today", "glad"), ("What a joy to see you", "glad"), ("O happy day", "glad"),
                     ("Alas, my heart is heavy", "sad"), ("I weep for my father", "sad"), ("Grief fills the room", "sad")]
        let test = [("My lord, I am merry", "glad"), ("O woe is me", "sad"), ("Good news, my lord", "glad"), ("He is dead and gone", "sad")]
        let header = #"name: mood\#ndescription: "glad or sad"\#nlabels: [glad, sad]\#nsource: hand\#nsplit: by hand\#n"#
        for (name, yaml) in [("mood", header + "prompt:\n  template: \"{text}\\nThe speaker is\"\n  cloze: \"{text} The speaker is{mask}.\"\n"
                                + "  verbalizer:\n    glad: \" glad\"\n    sad: \" sad\"\n"), ("plain", header)] {
            let directory = root.appendingPathComponent("tasks/\(name)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(yaml.utf8).write(to: directory.appendingPathComponent("task.yaml"))
            try Data(lines(train).utf8).write(to: directory.appendingPathComponent("train.jsonl"))
            try Data(lines(Array(train.prefix(2))).utf8).write(to: directory.appendingPathComponent("dev.jsonl"))
            try Data(lines(test).utf8).write(to: directory.appendingPathComponent("test.jsonl"))
        }
        Self.root = root
        return root
    }

    override class func tearDown() {
        if let root { try? FileManager.default.removeItem(at: root) }
        super.tearDown()
    }

    func testFewShotPrintsTheTableAndWritesTheJSONAndLogLikelihoods() throws {
        let root = try fixtures()
        let json = root.appendingPathComponent("scores.json"), log = root.appendingPathComponent("ll.jsonl")
        let result = try runPretrain(["evaluate", root.appendingPathComponent("run").path, "--tasks", root.appendingPathComponent("tasks/mood").path,
                                      "--shots", "2", "--seeds", "2", "--json", json.path, "--log-likelihoods", log.path])
        XCTAssertEqual(result.status, 0, result.output)
        let table = result.output.split(separator: "\n").map(String.init)
        let header = try XCTUnwrap(table.first { $0.hasPrefix("task") }, result.output)
        for column in ["K", "seeds", "examples", "acc", "acc_norm", "majority"] { XCTAssertTrue(header.contains(column), header) }
        let row = try XCTUnwrap(table.first { $0.hasPrefix("mood ") }, result.output)
        XCTAssertTrue(row.contains(" ± "), row)
        XCTAssertTrue(row.hasSuffix("0.500"), "majority glad (3 of 6 train, ties to the first label): 2 of 4 test")

        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        XCTAssertEqual(report["shots"] as? Int, 2)
        let task = try XCTUnwrap((report["tasks"] as? [[String: Any]])?.first)
        XCTAssertEqual(task["task"] as? String, "mood")
        XCTAssertEqual(task["examples"] as? Int, 4)
        XCTAssertEqual(task["continuations"] as? [String], [" glad", " sad"])
        XCTAssertEqual(task["majority"] as? Double, 0.5)
        let seeds = try XCTUnwrap(task["seeds"] as? [[String: Any]])
        XCTAssertEqual(seeds.map { $0["seed"] as? Int }, [0, 1])
        for seed in seeds { XCTAssertNotNil(seed["acc"] as? Double); XCTAssertNotNil(seed["acc_norm"] as? Double) }
        for metric in ["acc", "acc_norm"] { XCTAssertNotNil((task[metric] as? [String: Any])?["sd"] as? Double, metric) }

        let examples = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(examples.count, 8, "4 examples × 2 seeds")
        for line in examples {
            let example = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let values = try XCTUnwrap(example["log_likelihoods"] as? [Double])
            XCTAssertEqual(values.count, 2)
            XCTAssertTrue(values.allSatisfy { $0 < 0 && $0.isFinite }, "\(values)")
            XCTAssertEqual((example["greedy"] as? [Bool])?.count, 2)
        }
    }

    func testZeroShotRunsOnce() throws {
        let root = try fixtures()
        let json = root.appendingPathComponent("zero.json")
        let result = try runPretrain(["evaluate", root.appendingPathComponent("run").path, "--tasks", root.appendingPathComponent("tasks/mood").path,
                                      "--seeds", "3", "--limit", "3", "--json", json.path])
        XCTAssertEqual(result.status, 0, result.output)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        let task = try XCTUnwrap((report["tasks"] as? [[String: Any]])?.first)
        XCTAssertEqual((task["seeds"] as? [Any])?.count, 1)
        XCTAssertEqual(task["examples"] as? Int, 3)
        XCTAssertFalse(result.output.contains(" ± "), result.output)
    }

    /// A BERT checkpoint of the same tokenizer, written as a checkpoint directory.
    private func bertCheckpoint(_ root: URL) throws -> URL {
        let directory = root.appendingPathComponent("bert")
        if FileManager.default.fileExists(atPath: directory.path) { return directory }
        var section = ModelSection()
        (section.flavor, section.layers, section.dModel, section.heads, section.context, section.vocabSize) = (.bert, 1, 16, 2, 16, 300)
        var generator = RandomGenerator(seed: 1)
        let model = try section.family.makeBackbone(section, options: BackboneOptions(), generator: &generator)
        var objective = ObjectiveSection()
        objective.kind = .maskedLM
        var writer = CheckpointWriter(weights: model.stateDict())
        writer.config = CheckpointConfig(model: section, objective: objective)
        try writer.write(checkpointAt: directory)
        return directory
    }

    func testMistakesAreOneLineNamingTheFileOrFlag() throws {
        let root = try fixtures()
        let run = root.appendingPathComponent("run").path, mood = root.appendingPathComponent("tasks/mood").path
        let bert = try bertCheckpoint(root).path
        let cases: [([String], String)] = [
            ([run, "--tasks", "\(mood),/no/such/task"], "Error: /no/such/task: no such task directory"),
            ([run, "--tasks", root.appendingPathComponent("tasks/plain").path],
             "Error: \(root.path)/tasks/plain/task.yaml has no 'prompt' (template and verbalizer), which multiple-choice scoring needs"),
            ([bert, "--tasks", mood], "Error: \(bert) holds a bert encoder: multiple-choice scoring needs a decoder (gpt2 or llama); "
                + "a masked LM is scored by its cloze, a different method"),
            ([run, "--tasks", mood, "--shots=-1"], "Error: --shots must be ≥ 0, got -1"),
            ([run, "--tasks", mood, "--shots", "7"], "Error: 7 shots are more than the 6 examples of \(mood)/train.jsonl"),
        ]
        for (arguments, expected) in cases {
            let result = try runPretrain(["evaluate"] + arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            let line = try XCTUnwrap(result.output.split(separator: "\n").first { $0.hasPrefix("Error: ") }, result.output)
            XCTAssertEqual(String(line), expected)
        }
        // "--shots -1" reads -1 as an option: ArgumentParser's own error, which names the flag too.
        let spaced = try runPretrain(["evaluate", run, "--tasks", mood, "--shots", "-1"])
        XCTAssertNotEqual(spaced.status, 0)
        XCTAssertTrue(spaced.output.split(separator: "\n").contains { $0.hasPrefix("Error: ") && $0.contains("--shots") }, spaced.output)
    }
}
