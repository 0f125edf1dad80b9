import Foundation
import Layers
import TestSupport
import Training
import XCTest

/// The checkpoint directory protocol: a checkpoint becomes visible whole (rename, then COMPLETE), `latest` names
/// the newest, old ones are pruned, leftovers of a crash are cleaned up and never loaded.
final class CheckpointTests: XCTestCase {
    private func writeCheckpoint(_ store: CheckpointStore, step: Int, keepLast: Int = 2) throws -> URL {
        try store.write(step: step, keepLast: keepLast) { directory in
            try Data("weights \(step)".utf8).write(to: directory.appendingPathComponent(Checkpoint.modelFile))
        }
    }

    func testACheckpointIsARenamedDirectoryWithAMarkerAndTheLatestPointer() throws {
        let run = try makeTemporaryDirectory()
        let store = CheckpointStore(runDirectory: run)
        let url = try writeCheckpoint(store, step: 200)
        XCTAssertEqual(url.lastPathComponent, "step_000200")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: url.path).sorted(), ["COMPLETE", "model.safetensors"])
        XCTAssertEqual(try String(contentsOf: store.latestPointer, encoding: .utf8), "step_000200\n")
        XCTAssertEqual(try Checkpoint.resolve(run).standardizedFileURL.path, url.standardizedFileURL.path, "a run directory resolves to its newest complete checkpoint")
    }

    func testOnlyTheNewestKCheckpointsAreKept() throws {
        let store = CheckpointStore(runDirectory: try makeTemporaryDirectory())
        for step in [10, 20, 30, 40] { _ = try writeCheckpoint(store, step: step, keepLast: 2) }
        XCTAssertEqual(store.completeCheckpoints().map(\.step), [30, 40])
    }

    func testRewritingAStepReplacesIt() throws {
        let store = CheckpointStore(runDirectory: try makeTemporaryDirectory())
        _ = try writeCheckpoint(store, step: 10)
        let url = try store.write(step: 10, keepLast: 2) { directory in
            try Data("second".utf8).write(to: directory.appendingPathComponent(Checkpoint.modelFile))
        }
        XCTAssertEqual(try String(contentsOf: url.appendingPathComponent(Checkpoint.modelFile), encoding: .utf8), "second")
    }

    func testLeftoversOfACrashAreIgnoredAndCleanedUp() throws {
        let run = try makeTemporaryDirectory()
        let store = CheckpointStore(runDirectory: run)
        _ = try writeCheckpoint(store, step: 10)
        // A crash while filling the temporary directory, and one between the rename and the marker.
        let partial = store.directory.appendingPathComponent(".partial-step_000020-4242")
        let unmarked = store.directory.appendingPathComponent("step_000030")
        for directory in [partial, unmarked] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data("half".utf8).write(to: directory.appendingPathComponent(Checkpoint.modelFile))
        }
        XCTAssertEqual(store.completeCheckpoints().map(\.step), [10])
        XCTAssertEqual(try Checkpoint.resolve(run).lastPathComponent, "step_000010")
        store.removeAbandonedPartials()
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial.path))
        _ = try writeCheckpoint(store, step: 40)
        XCTAssertFalse(FileManager.default.fileExists(atPath: unmarked.path), "an unmarked checkpoint older than the newest is pruned")
    }

    func testResolvingSomethingElseIsAClearError() throws {
        let empty = try makeTemporaryDirectory()
        XCTAssertThrowsError(try Checkpoint.resolve(empty)) { XCTAssertTrue("\($0)".contains("neither a checkpoint"), "\($0)") }
        XCTAssertThrowsError(try Checkpoint.resolve(empty.appendingPathComponent("absent"))) {
            XCTAssertTrue("\($0)".contains("no such checkpoint or run directory"), "\($0)")
        }
    }

    /// What `pretrain generate`, `eval` and `export` load: the trained weights, in evaluation mode, with config.
    func testLoadCheckpointRestoresTheTrainedModel() throws {
        let run = try makeTemporaryDirectory()
        let trainer = try Trainer(recipe: tinyRecipe(steps: 10), runDirectory: run, corpus: TestCorpus.make(),
                                  console: ConsoleProgress(mode: .silent))
        try trainer.run()
        let loaded = try loadCheckpoint(run)
        XCTAssertEqual(loaded.config.model.vocabSize, 64)
        XCTAssertEqual(loaded.config.objective.kind, .causalLM)
        XCTAssertEqual(loaded.state?.step, 10)
        XCTAssertFalse(loaded.model.isTraining)
        let decoder = try XCTUnwrap(loaded.decoder)
        XCTAssertEqual(decoder.config.contextLength, 8)
        for ((name, a), (_, b)) in zip(loaded.model.namedParameters(), trainer.model.namedParameters()) {
            XCTAssertEqual(a.scalars, b.scalars, name)
        }
    }

    func testConsoleNumbersAreReadable() {
        XCTAssertEqual(ConsoleProgress.duration(42), "42s")
        XCTAssertEqual(ConsoleProgress.duration(192), "3m12s")
        XCTAssertEqual(ConsoleProgress.duration(3840), "1h04m")
        XCTAssertEqual(ConsoleProgress.grouped(12345.6), "12,346")
        XCTAssertEqual(ConsoleProgress.grouped(999), "999")
    }
}
