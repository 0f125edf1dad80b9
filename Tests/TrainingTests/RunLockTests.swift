import Foundation
import TestSupport
import Training
import XCTest

/// One writer per run directory: a trainer locks RUN/.lock (flock, with its pid in the file) from its init until
/// its run returns; a second trainer, in this process or another, fails at once naming the holder's pid, and the
/// lock goes with the process that held it, however it ends.
final class RunLockTests: XCTestCase {
    private let silent = ConsoleProgress(mode: .silent)

    func testASecondLockOfARunFailsNamingTheHolderUntilTheFirstIsReleased() throws {
        let run = RunDirectory(try makeTemporaryDirectory().appendingPathComponent("run"))
        let first = try run.lock()
        XCTAssertEqual(try String(contentsOf: run.lockFile, encoding: .utf8), "\(getpid())\n")
        XCTAssertThrowsError(try run.lock()) { error in
            XCTAssertTrue("\(error)".hasPrefix("run \(run.path) is in use by pid \(getpid())"), "\(error)")
        }
        first.release()
        XCTAssertNoThrow(try run.lock())
    }

    func testASecondTrainerOfARunFailsUntilTheFirstHasRun() throws {
        let directory = try makeTemporaryDirectory().appendingPathComponent("run")
        let first = try Trainer(recipe: tinyRecipe(steps: 20), runDirectory: directory, corpus: TestCorpus.make(), console: silent)
        XCTAssertThrowsError(try Trainer(recipe: tinyRecipe(steps: 20), runDirectory: directory, corpus: TestCorpus.make(),
                                         console: silent)) { error in
            XCTAssertTrue("\(error)".contains("is in use by pid \(getpid())"), "\(error)")
        }
        XCTAssertFalse(try first.run(stopAfter: 10).finished)
        let resumed = try Trainer(recipe: tinyRecipe(steps: 20), runDirectory: directory, corpus: TestCorpus.make(),
                                  start: .resume, console: silent)
        XCTAssertThrowsError(try first.run(), "the first trainer must take the lock again to train on") { error in
            XCTAssertTrue("\(error)".contains("is in use by pid \(getpid())"), "\(error)")
        }
        XCTAssertTrue(try resumed.run().finished)
    }

    /// `pretrain train` holds its run until it dies: a second `train --resume` (or `--overwrite`) of the run fails
    /// with the first one's pid and leaves the run alone; after SIGKILL the run can be locked again.
    func testAProcessTrainingARunKeepsOthersOutUntilItDies() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writePrepared(to: root.appendingPathComponent("corpus"))
        try """
            model: {layers: 2, d_model: 128, heads: 2, context: 8}
            data: {corpus: corpus}
            optim: {lr: 3e-3, batch_size: 4}
            train: {steps: 1000000, eval_every: 0, log_every: 10, checkpoint_every: 5, keep_last: 2, seed: 5}
            """.write(to: root.appendingPathComponent("long.yaml"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = try pretrainExecutable()
        process.arguments = ["train", "long.yaml", "--run-dir", "run"]
        process.currentDirectoryURL = root
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        addTeardownBlock { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

        let run = RunDirectory(root.appendingPathComponent("run"))
        let deadline = Date().addingTimeInterval(300)
        while process.isRunning && run.checkpoints.completeCheckpoints().isEmpty && Date() < deadline { usleep(10_000) }
        guard process.isRunning else { return XCTFail("the training process ended before its first checkpoint") }
        XCTAssertEqual(try String(contentsOf: run.lockFile, encoding: .utf8), "\(process.processIdentifier)\n")

        for arguments in [["train", "--resume", "run"], ["train", "long.yaml", "--run-dir", "run", "--overwrite"]] {
            let second = try runPretrain(arguments, in: root)
            XCTAssertNotEqual(second.status, 0, second.output)
            XCTAssertTrue(second.output.contains("run \(run.path) is in use by pid \(process.processIdentifier)")
                          || second.output.contains("run run is in use by pid \(process.processIdentifier)"), second.output)
        }
        XCTAssertTrue(process.isRunning, "the first process trains on")
        XCTAssertFalse(run.checkpoints.completeCheckpoints().isEmpty, "its checkpoints are untouched")

        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertNoThrow(try run.lock(), "the kernel released the lock of the killed process")
    }
}
