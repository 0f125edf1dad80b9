import Foundation
import TestSupport
import Training
import XCTest

/// A checkpoint's COMPLETE marker records every file's CRC-32C; a file damaged after writing (a flipped bit in a
/// tensor's data, whose header still reads) is refused by every loader with "checksum mismatch", and `--resume`
/// falls back to the newest undamaged checkpoint. Checkpoints written before checksums load unchecked.
final class CheckpointIntegrityTests: XCTestCase {
    private let silent = ConsoleProgress(mode: .silent)

    /// Flips the last byte of `file`: tensor data, since a safetensors header comes first.
    private func flipLastByte(_ file: URL) throws {
        var data = try Data(contentsOf: file)
        data[data.count - 1] ^= 0xFF
        try data.write(to: file)
    }

    func testSlicingByEightEqualsTheBytewiseCRCAtEveryLengthAndSplit() {
        func bytewise(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            }
            return ~crc
        }
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for count in 0...bytes.count {
            let prefix = Array(bytes[..<count])
            XCTAssertEqual(CRC32C.checksum(prefix), bytewise(prefix), "\(count) bytes")
        }
        let split = bytes.withUnsafeBytes { CRC32C.update(CRC32C.update(0, UnsafeRawBufferPointer(rebasing: $0[..<123])),
                                                          UnsafeRawBufferPointer(rebasing: $0[123...])) }
        XCTAssertEqual(split, bytewise(bytes), "a CRC continued over a second block equals the CRC of both")
    }

    func testTheMarkerListsEveryFileAndADamagedTensorIsRefusedByLoadCheckpoint() throws {
        let run = try makeTemporaryDirectory()
        try Trainer(recipe: tinyRecipe(steps: 10), runDirectory: run, corpus: TestCorpus.make(), console: silent).run()
        let checkpoint = run.appendingPathComponent("checkpoints/step_000010")
        let marker = try String(contentsOf: checkpoint.appendingPathComponent(Checkpoint.completeMarker), encoding: .utf8)
        XCTAssertTrue(marker.hasPrefix("step 10\n"), marker)
        let listed = marker.split(separator: "\n").filter { $0.hasPrefix("crc32c ") }.map { String($0.split(separator: " ")[3]) }
        let files = try FileManager.default.contentsOfDirectory(atPath: checkpoint.path).filter { $0 != Checkpoint.completeMarker }
        XCTAssertEqual(Set(listed), Set(files))
        XCTAssertNoThrow(try loadCheckpoint(run))

        let weights = checkpoint.appendingPathComponent(Checkpoint.modelFile)
        try flipLastByte(weights)
        for load in [{ _ = try loadCheckpoint(run) }, { _ = try loadCheckpoint(checkpoint) }, { _ = try Checkpoint.resolve(run) }] {
            XCTAssertThrowsError(try load()) { error in
                XCTAssertTrue("\(error)".hasPrefix("\(weights.path): checksum mismatch"), "\(error)")
            }
        }
        XCTAssertThrowsError(try Trainer(recipe: tinyRecipe(steps: 5), runDirectory: run.appendingPathComponent("continual"),
                                         corpus: TestCorpus.make(), start: .initFrom(run), console: silent)) { error in
            XCTAssertTrue("\(error)".contains("checksum mismatch"), "--init-from checks too: \(error)")
        }

        // The same checkpoint written before checksums (a marker of its step only) still loads: its header is intact.
        try "step 10\n".write(to: checkpoint.appendingPathComponent(Checkpoint.completeMarker), atomically: true, encoding: .utf8)
        XCTAssertNoThrow(try loadCheckpoint(run))
    }

    /// Resuming a run whose newest checkpoint is damaged continues from the one before, exactly: the curve and the
    /// final weights are those of an uninterrupted run. The damaged one is kept aside under another name.
    func testResumeFallsBackToTheNewestUndamagedCheckpoint() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let recipe = tinyRecipe(steps: 30)
        let straight = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("straight"), corpus: corpus,
                                   console: silent)
        try straight.run()

        let run = root.appendingPathComponent("run")
        try Trainer(recipe: recipe, runDirectory: run, corpus: corpus, console: silent).run(stopAfter: 20)
        let store = CheckpointStore(runDirectory: run)
        XCTAssertEqual(store.completeCheckpoints().map(\.step), [10, 20])
        try flipLastByte(run.appendingPathComponent("checkpoints/step_000020/\(Checkpoint.optimizerFile)"))

        let resumed = try Trainer(recipe: recipe, runDirectory: run, corpus: corpus, start: .resume, console: silent)
        XCTAssertEqual(resumed.state.step, 10)
        XCTAssertEqual(store.completeCheckpoints().map(\.step), [10])
        XCTAssertEqual(store.latest?.lastPathComponent, "step_000010")
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoints/step_000020.damaged").path))
        XCTAssertTrue(try resumed.run().finished)
        assertSameCurves(try readMetrics(run.appendingPathComponent("metrics.jsonl")),
                         try readMetrics(root.appendingPathComponent("straight/metrics.jsonl")))
        for ((name, a), (_, b)) in zip(resumed.model.namedParameters(), straight.model.namedParameters()) {
            XCTAssertEqual(a.scalars, b.scalars, "final \(name) differs")
        }
        XCTAssertEqual(store.completeCheckpoints().map(\.step), [20, 30])
        XCTAssertNoThrow(try Checkpoint.resolve(run), "the rewritten step 20 and step 30 are intact")

        try flipLastByte(run.appendingPathComponent("checkpoints/step_000030/\(Checkpoint.modelFile)"))
        try flipLastByte(run.appendingPathComponent("checkpoints/step_000020/\(Checkpoint.modelFile)"))
        XCTAssertThrowsError(try Trainer(recipe: recipe, runDirectory: run, corpus: corpus, start: .resume, console: silent)) { error in
            XCTAssertTrue("\(error)".contains("nothing to resume, no undamaged checkpoint"), "\(error)")
        }
    }

    /// `eval` and `generate` on a damaged checkpoint exit non-zero with one line naming the file; `train --resume`
    /// says which checkpoint it set aside and where it resumes.
    func testTheCommandLineNamesTheDamagedFile() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writeTinyRecipe(in: root, layers: 2, optim: "{lr: 3e-3, batch_size: 4}",
                                      train: "{steps: 20, eval_every: 10, eval_batches: 2, checkpoint_every: 10, keep_last: 3, seed: 5}")
        let trained = try runPretrain(["train", "tiny.yaml", "--run-dir", "run", "--stop-after", "20"], in: root)
        XCTAssertEqual(trained.status, 0, trained.output)
        let weights = root.appendingPathComponent("run/checkpoints/step_000020/\(Checkpoint.modelFile)")
        try flipLastByte(weights)

        for command in [["eval", "run", "--data", "corpus"], ["generate", "run", "--max-tokens", "4"]] {
            let result = try runPretrain(command, in: root)
            XCTAssertNotEqual(result.status, 0, result.output)
            let lines = result.output.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, result.output)
            XCTAssertTrue(result.output.contains("\(weights.path): checksum mismatch"), result.output)
        }
        let resumed = try runPretrain(["train", "--resume", "run", "--set", "train.steps=30"], in: root)
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("checksum mismatch"), resumed.output)
        XCTAssertTrue(resumed.output.contains("kept as step_000020.damaged, resuming from step_000010 instead"), resumed.output)
        XCTAssertTrue(resumed.output.contains("at step 10 of 30"), resumed.output)
    }
}
