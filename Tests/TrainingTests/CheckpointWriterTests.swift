import Foundation
import Layers
import SafeTensors
import Tensors
import Training
import TestSupport
import XCTest

/// What `CheckpointWriter` writes is a checkpoint like the trainer's: `loadCheckpoint` reads it, in a run's store
/// or in a directory of its own, and a rewrite replaces it whole.
final class CheckpointWriterTests: XCTestCase {
    /// A tiny GPT built by a trainer (which resolves the recipe's vocabulary) and its checkpoint config.
    private func model(in root: URL) throws -> (model: Module, config: CheckpointConfig) {
        let trainer = try Trainer(recipe: tinyRecipe(steps: 1), runDirectory: root.appendingPathComponent("source"),
                                  corpus: TestCorpus.make(), console: ConsoleProgress(mode: .silent))
        return (trainer.model, CheckpointConfig(model: trainer.recipe.model, objective: trainer.recipe.objective))
    }

    private func assertWeights(_ loaded: LoadedCheckpoint, equal weights: [String: Tensor], file: StaticString = #filePath,
                               line: UInt = #line) {
        let reloaded = loaded.model.stateDict()
        XCTAssertEqual(Set(reloaded.keys), Set(weights.keys), file: file, line: line)
        for (name, tensor) in weights { XCTAssertEqual(reloaded[name]?.scalars, tensor.scalars, name, file: file, line: line) }
    }

    func testARunCheckpointLoadsWithLoadCheckpoint() throws {
        let root = try makeTemporaryDirectory()
        let (model, config) = try model(in: root)
        let run = RunDirectory(root.appendingPathComponent("run"))
        var writer = CheckpointWriter(weights: model.stateDict(), weightsMetadata: ["step": "3"])
        writer.config = config
        let url = try writer.write(to: run.checkpoints, step: 3, keepLast: 2)

        XCTAssertEqual(url.path, run.checkpoints.latest?.path)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: url.path)),
                       ["model.safetensors", "config.json", "COMPLETE"], "no optimiser state or trainer state asked for")
        let marker = try String(contentsOf: url.appendingPathComponent("COMPLETE"), encoding: .utf8)
        XCTAssertTrue(marker.hasPrefix("step 3\ncrc32c "), "the marker's text, then the files' checksums: \(marker)")
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url.appendingPathComponent("model.safetensors")).metadata["step"], "3")
        let loaded = try loadCheckpoint(run.url)
        XCTAssertEqual(loaded.directory.path, url.path)
        XCTAssertEqual(loaded.config, config)
        XCTAssertNil(loaded.state)
        assertWeights(loaded, equal: model.stateDict())
    }

    func testACheckpointOfItsOwnIsCompleteLoadsAndIsReplacedWhole() throws {
        let root = try makeTemporaryDirectory()
        let (model, config) = try model(in: root)
        let configFile = root.appendingPathComponent("config.json")
        try config.write(to: configFile)
        let destination = root.appendingPathComponent("out/checkpoint")

        var first = CheckpointWriter(weights: model.stateDict())
        first.extraFiles = { try Data("stale".utf8).write(to: $0.appendingPathComponent("leftover.txt")) }
        try first.write(checkpointAt: destination)
        XCTAssertThrowsError(try loadCheckpoint(destination), "no config.json yet")

        let shifted = model.stateDict().mapValues { Tensor($0.scalars.map { $0 + 1 }, shape: $0.shape) }
        var second = CheckpointWriter(weights: shifted, weightsMetadata: ["fine_tuned_from": "source"])
        second.copiedFiles = [configFile]
        try second.write(checkpointAt: destination)

        XCTAssertTrue(Checkpoint.isComplete(destination))
        XCTAssertEqual(try Checkpoint.resolve(destination), destination)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: destination.path)),
                       ["model.safetensors", "config.json", "COMPLETE"], "the first write's files are gone")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("out").path), ["checkpoint"],
                       "no temporary directory left beside it")
        assertWeights(try loadCheckpoint(destination), equal: shifted)
    }
}
