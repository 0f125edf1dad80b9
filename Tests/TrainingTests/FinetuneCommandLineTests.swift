import Foundation
import Layers
import Tensors
import TestSupport
import Training
import XCTest

/// `pretrain finetune` as a user runs it, in a subprocess: a CI-sized fine-tuning of a one-step TERA checkpoint on
/// a tone "phoneme" corpus writes its result (the loss falls, PER is scored), and mistakes are clear errors.
final class FinetuneCommandLineTests: XCTestCase {
    /// A run directory with a one-step TERA checkpoint over 16-bin fbank, and a pr corpus of tone sequences
    /// (symbols a–d are 0.15 s tones) with durations in its manifest: 24 train and 6 test utterances.
    private func setUpRun() throws -> URL {
        let root = try makeTemporaryDirectory()
        let features = try AudioTrainingTests.featureCorpus(root)
        let recipe = try AudioTrainingTests.recipe(.tera, features: features, steps: 1)
        try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("run"), corpus: try TrainingCorpus.load(recipe.data),
                    console: ConsoleProgress(mode: .silent)).run()
        let corpus = root.appendingPathComponent("pr")
        var lines: [String] = []
        var generator = RandomGenerator(seed: 2)
        let pitches: [String: Float] = ["a": 300, "b": 700, "c": 1500, "d": 3000]
        for index in 0..<30 {
            let split = index < 24 ? "train" : "test"
            let symbols = (0..<(3 + index % 3)).map { ["a", "b", "c", "d"][($0 * 7 + index * 3) % 4] }
            var samples: [Float] = []
            for symbol in symbols {
                let step: Float = 2 * Float.pi * pitches[symbol]! / 16_000
                for n in 0..<2_400 {
                    let tone: Float = 0.4 * sin(step * Float(n))
                    samples.append(tone + 0.02 * generator.nextNormal())
                }
            }
            let path = "pr/\(split)/u\(index).wav"
            try FileManager.default.createDirectory(at: corpus.appendingPathComponent("pr/\(split)"), withIntermediateDirectories: true)
            try writeWAV(samples, to: corpus.appendingPathComponent(path))
            lines.append(#"{"path": "\#(path)", "subset": "pr", "split": "\#(split)", "duration": \#(Double(samples.count) / 16_000), "phonemes": "\#(symbols.joined(separator: " "))"}"#)
        }
        try lines.joined(separator: "\n").write(to: corpus.appendingPathComponent("manifest.jsonl"), atomically: true, encoding: .utf8)
        return root
    }

    private func pretrain(_ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        try runPretrain(arguments + ["--threads", "1"], in: directory)
    }

    func testAShortFineTuningWritesItsResultAndTheLossFalls() throws {
        let root = try setUpRun()
        let run = try pretrain(["finetune", "run", "--corpus", "pr", "--labelled-minutes", "0.2", "--steps", "40",
                                "--lr", "1e-3", "--batch-size", "4", "--log-every", "10", "--seed", "1", "--out", "ft"], in: root)
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("finetune pr: PER"), run.output)
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("ft/result.json"))) as! [String: Any]
        let per = try XCTUnwrap(result["per"] as? Double)
        XCTAssertTrue((0...2).contains(per), "PER \(per)")
        XCTAssertLessThanOrEqual(try XCTUnwrap(result["labelled_seconds"] as? Double), 12)
        XCTAssertEqual(result["test_utterances"] as? Int, 6)
        let losses = try XCTUnwrap(result["losses"] as? [[String: Any]]).map { $0["loss"] as! Double }
        XCTAssertLessThan(losses.last!, losses.first!, "the CTC loss falls: \(losses)")
        // The fine-tuned encoder is a checkpoint like any other: its encoder weights moved, the rest did not.
        let source = try loadSafetensors(Checkpoint.resolve(root.appendingPathComponent("run")).appendingPathComponent(Checkpoint.modelFile))
        let tuned = try loadSafetensors(root.appendingPathComponent("ft/checkpoint/model.safetensors"))
        XCTAssertEqual(Set(tuned.keys), Set(source.keys))
        let layerWeights = source.keys.filter { $0.hasPrefix("encoder.layers.0.") && $0.hasSuffix(".weight") }
        XCTAssertFalse(layerWeights.isEmpty)
        for name in layerWeights { XCTAssertNotEqual(tuned[name]!.scalars, source[name]!.scalars, name) }
        for name in source.keys where !name.hasPrefix("encoder.") { XCTAssertEqual(tuned[name]!.scalars, source[name]!.scalars, name) }
        let reloaded = try loadAudioEncoder(root.appendingPathComponent("ft/checkpoint"))
        XCTAssertEqual(reloaded.encoder.config.hiddenSize, 16)
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("ft/ctc_head.safetensors").path))

        let scratch = try pretrain(["finetune", "run", "--corpus", "pr", "--steps", "2", "--random-init", "--out", "scratch"], in: root)
        XCTAssertEqual(scratch.status, 0, scratch.output)
        XCTAssertTrue(scratch.output.contains("random-init"), scratch.output)
    }

    func testMistakesAreClearErrors() throws {
        let root = try setUpRun()
        let text = root.appendingPathComponent("text-run")
        try Trainer(recipe: tinyRecipe(steps: 1), runDirectory: text, corpus: TestCorpus.make(),
                    console: ConsoleProgress(mode: .silent)).run()
        let cases: [([String], String)] = [
            (["finetune", "text-run", "--corpus", "pr"], "not an audio encoder"),
            (["finetune", "run", "--corpus", "nowhere"], "cannot read the corpus manifest"),
            (["finetune", "run", "--corpus", "pr", "--labelled-minutes", "30"], "too few labelled minutes"),
            (["finetune", "run", "--corpus", "pr", "--task", "ks"], "fine-tuning supports pr"),
            (["probe", "run", "--corpus", "pr", "--init-seed", "1"], "--init-seed applies to --baseline random-init only"),
            (["probe", "run", "--corpus", "pr", "--layer", "9"], "--layer: layer 9 is outside 0…"),
        ]
        for (arguments, message) in cases {
            let run = try pretrain(arguments, in: root)
            XCTAssertNotEqual(run.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(run.output.contains(message), "\(arguments): \(run.output)")
            XCTAssertFalse(run.output.contains("Fatal error"), run.output)
        }
    }
}
