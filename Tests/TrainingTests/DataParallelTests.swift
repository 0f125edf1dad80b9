import Foundation
import TestSupport
import XCTest

/// Data-parallel training under `mpirun` (2 ranks on this machine, as CI runs it): the same loss curve as one
/// process with the same global batch, exact resume with the same world size, a continuation with another, and a
/// job that ends with a message naming the rank when a rank dies or fails.
///
/// Tolerance: 1e-5 relative per step. The ranks' gradients are sums of float32 products taken over 8 rows each and
/// then added over the ranks, one process sums the same 16 rows in another order; over 20 steps that moves the loss
/// by about 5e-8 (measured), so 1e-5 separates rounding from a real difference (a wrong row split or a missing
/// 1/N changes the loss at the first update by more than 1e-3).
final class DataParallelTests: XCTestCase {
    /// The runs several tests compare, made once: 1 rank × batch 16, 2 ranks × batch 8 (shared memory and TCP), and
    /// 2 ranks stopped at step 10.
    private struct Runs {
        let root: URL
        var single: URL { root.appendingPathComponent("single") }
        var parallel: URL { root.appendingPathComponent("parallel") }
        var overTCP: URL { root.appendingPathComponent("tcp") }
        var stopped: URL { root.appendingPathComponent("stopped") }
        var sharded: URL { root.appendingPathComponent("sharded") }
        var shardedStopped: URL { root.appendingPathComponent("sharded-stopped") }
    }
    nonisolated(unsafe) private static var shared: Runs?
    nonisolated(unsafe) private static var failure: String?

    /// Ranks unbound (on two cores Open MPI would pin each to one, and the killed-rank test finds them by parent).
    private static let unbound = ["--bind-to", "none"]

    override class func tearDown() {
        if let shared { try? FileManager.default.removeItem(at: shared.root) }
        super.tearDown()
    }

    override func setUpWithError() throws {
        try requireMPIRun()
        if let failure = Self.failure { throw PretrainProcessError("the runs these tests share failed: \(failure)") }
    }

    private static func recipe(batch: Int, steps: Int = 20, corpus: URL) -> String {
        """
        model: {flavor: gpt2, layers: 2, d_model: 32, heads: 2, context: 32}
        objective: {kind: causal_lm}
        data: {corpus: \(corpus.path)}
        optim: {lr: 3.0e-3, batch_size: \(batch)}
        schedule: {kind: cosine, warmup: 5}
        train: {steps: \(steps), eval_every: 10, eval_batches: 0, log_every: 1, checkpoint_every: 10, seed: 7, threads: 1}

        """
    }

    /// Runs `mpirun [flags] -np ranks pretrain arguments` (paths absolute): exit status and output; throws on a
    /// failure unless `expectSuccess` is false.
    @discardableResult
    static func mpi(_ ranks: Int, _ arguments: [String], flags: [String] = [], expectSuccess: Bool = true) throws -> (status: Int32, output: String) {
        let result = try runPretrainUnderMPI(ranks: ranks, mpiOptions: unbound + flags, arguments, timeout: 120)
        if expectSuccess && result.status != 0 {
            throw PretrainProcessError("mpirun -np \(ranks) pretrain \(arguments.joined(separator: " ")) exited \(result.status):\n\(result.output.suffix(3000))")
        }
        return result
    }

    private func runs() throws -> Runs {
        if let shared = Self.shared { return shared }
        do {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("DataParallelTests-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            let corpus = root.appendingPathComponent("corpus")
            try SyntheticCorpus.writePrepared(to: corpus, trainTokens: 20_000, valTokens: 2_000)
            try Self.recipe(batch: 16, corpus: corpus).write(to: root.appendingPathComponent("one.yaml"), atomically: true, encoding: .utf8)
            try Self.recipe(batch: 8, corpus: corpus).write(to: root.appendingPathComponent("two.yaml"), atomically: true, encoding: .utf8)
            let runs = Runs(root: root)
            let single = try runPretrain(["train", root.appendingPathComponent("one.yaml").path, "--run-dir", runs.single.path])
            guard single.status == 0 else { throw PretrainProcessError("one rank failed: \(single.output.suffix(2000))") }
            try Self.mpi(2, ["train", root.appendingPathComponent("two.yaml").path, "--run-dir", runs.parallel.path])
            try Self.mpi(2, ["train", root.appendingPathComponent("two.yaml").path, "--run-dir", runs.overTCP.path], flags: mpiOverLoopbackTCP)
            try Self.mpi(2, ["train", root.appendingPathComponent("two.yaml").path, "--run-dir", runs.stopped.path, "--stop-after", "10"])
            let zero = ["--set", "distributed.shard_optimizer=true"]
            try Self.mpi(2, ["train", root.appendingPathComponent("two.yaml").path, "--run-dir", runs.sharded.path] + zero)
            try Self.mpi(2, ["train", root.appendingPathComponent("two.yaml").path, "--run-dir", runs.shardedStopped.path, "--stop-after", "10"] + zero)
            Self.shared = runs
            return runs
        } catch {
            Self.failure = "\(error)"
            throw error
        }
    }

    /// metrics.jsonl as rows of numbers.
    private func metrics(_ run: URL) throws -> [[String: Double]] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
        }
    }

    private func assertSameCurve(_ a: URL, _ b: URL, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (left, right) = (try metrics(a), try metrics(b))
        XCTAssertEqual(left.count, right.count, label, file: file, line: line)
        for (x, y) in zip(left, right) {
            for key in ["loss", "val_loss"] {
                guard let u = x[key] else { continue }
                guard let v = y[key] else { XCTFail("\(label): step \(x["step"] ?? 0) has no \(key)", file: file, line: line); continue }
                XCTAssertLessThanOrEqual(abs(u - v) / abs(u), 1e-5, "\(label): \(key) at step \(x["step"] ?? 0): \(u) vs \(v)",
                                         file: file, line: line)
            }
            XCTAssertEqual(x["tokens_seen"], y["tokens_seen"], "\(label): tokens seen", file: file, line: line)
        }
    }

    func testTwoRanksTrainLikeOneWithTheSameGlobalBatch() throws {
        let runs = try runs()
        try assertSameCurve(runs.single, runs.parallel, "1 rank × 16 vs 2 ranks × 8 (shared memory)")
        try assertSameCurve(runs.single, runs.overTCP, "1 rank × 16 vs 2 ranks × 8 (TCP)")
        // Two ranks over shared memory and over TCP sum in the same order: the same bits.
        try assertSameFinalCheckpoint(runs.parallel, runs.overTCP, "shared memory vs TCP")
    }

    /// ZeRO-1: each rank keeps the moments of half the parameters; the curve is the unsharded one (with two ranks
    /// the reduce-scatter adds the same two numbers as the all-reduce, so even the bits agree), the checkpoint is an
    /// ordinary one, and it continues exactly with two ranks and on one.
    func testShardedOptimizerStateTrainsLikeTheUnshardedOne() throws {
        let runs = try runs()
        try assertSameCurve(runs.parallel, runs.sharded, "2 ranks, optimizer state sharded vs not")
        try assertSameFinalCheckpoint(runs.parallel, runs.sharded, "sharded vs not")
        try assertSameFinalCheckpoint(runs.sharded, try resumedCopy(of: runs.shardedStopped, ranks: 2), "sharded 2 → 2 ranks")
        try assertSameCurve(runs.single, try resumedCopy(of: runs.shardedStopped, ranks: 1),
                            "2 sharded ranks × 8 to step 10, then 1 rank × 16")
    }

    /// A copy of the run `stopped` at step 10 resumed to its end: by 2 ranks, or by 1 rank with the same global
    /// batch (16 windows).
    private func resumedCopy(of stopped: URL, ranks: Int) throws -> URL {
        let copy = stopped.deletingLastPathComponent()
            .appendingPathComponent("\(stopped.lastPathComponent)-on-\(ranks)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.copyItem(at: stopped, to: copy)
        if ranks == 1 {
            let result = try runPretrain(["train", "--resume", copy.path, "--set", "optim.batch_size=16"])
            XCTAssertEqual(result.status, 0, result.output)
        } else {
            try Self.mpi(ranks, ["train", "--resume", copy.path])
        }
        return copy
    }

    /// The two runs' last checkpoints hold the same weights and optimiser state, byte for byte.
    private func assertSameFinalCheckpoint(_ a: URL, _ b: URL, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        for name in ["model.safetensors", "optimizer.safetensors"] {
            let path = "checkpoints/step_000020/\(name)"
            XCTAssertEqual(try Data(contentsOf: a.appendingPathComponent(path)), try Data(contentsOf: b.appendingPathComponent(path)),
                           "\(label): \(name)", file: file, line: line)
        }
    }

    func testResumeWithTheSameRanksIsExactAndWithOneRankContinuesTheStream() throws {
        let runs = try runs()
        let copy = try resumedCopy(of: runs.stopped, ranks: 2)
        try assertSameFinalCheckpoint(runs.parallel, copy, "2 → 2 ranks")
        let withoutThroughput = { (run: URL) in try self.metrics(run).map { $0.filter { $0.key != "tokens_per_s" } } }
        XCTAssertEqual(try withoutThroughput(runs.parallel), try withoutThroughput(copy), "2 → 2 ranks: metrics.jsonl")

        // The same global batch on one rank: the same windows, so the curve of the one-rank run.
        try assertSameCurve(runs.single, try resumedCopy(of: runs.stopped, ranks: 1), "2 ranks × 8 to step 10, then 1 rank × 16")
    }

    /// Audio crops split the same way (FeatureBatcher), and TERA's masks come from each rank's own stream, saved for
    /// every rank: two ranks resume exactly.
    func testAnAudioObjectiveResumesExactlyOnTwoRanks() throws {
        let runs = try runs()
        let features = try AudioTrainingTests.featureCorpus(runs.root.appendingPathComponent("audio-\(UUID().uuidString.prefix(8))"))
        let recipe = runs.root.appendingPathComponent("tera-\(UUID().uuidString.prefix(8)).yaml")
        try """
            model: {flavor: audio_frames, layers: 1, d_model: 16, heads: 2, context: 24, frame_stack: 2}
            objective: {kind: tera}
            data: {features: \(features.path)}
            optim: {lr: 3.0e-3, batch_size: 2, grad_accum: 2}
            schedule: {kind: cosine, warmup: 2}
            train: {steps: 6, eval_every: 3, eval_batches: 1, log_every: 1, checkpoint_every: 3, seed: 11, threads: 1}

            """.write(to: recipe, atomically: true, encoding: .utf8)
        let straight = recipe.deletingPathExtension().appendingPathExtension("straight")
        let stopped = recipe.deletingPathExtension().appendingPathExtension("stopped")
        try Self.mpi(2, ["train", recipe.path, "--run-dir", straight.path])
        try Self.mpi(2, ["train", recipe.path, "--run-dir", stopped.path, "--stop-after", "3"])
        try Self.mpi(2, ["train", "--resume", stopped.path])
        for name in ["model.safetensors", "optimizer.safetensors"] {
            let path = "checkpoints/step_000006/\(name)"
            XCTAssertEqual(try Data(contentsOf: straight.appendingPathComponent(path)),
                           try Data(contentsOf: stopped.appendingPathComponent(path)), "TERA 2 → 2 ranks: \(name)")
        }
        let state = try String(contentsOf: straight.appendingPathComponent("checkpoints/step_000006/trainer_state.json"), encoding: .utf8)
        XCTAssertTrue(state.contains("rank_streams"), "each rank's mask stream is saved")
    }

    func testAKilledRankEndsTheJobWithItsRankNamed() throws {
        let (seconds, status, output) = try signalRankOne(SIGKILL, label: "rank-killed")
        XCTAssertLessThan(seconds, 60, "the job did not end within 60 s of the kill")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("rank 1"), "the message does not name rank 1:\n\(output.suffix(1500))")
    }

    /// A rank that stops (SIGSTOP: alive, so mpirun sees nothing) leaves the others in a collective; the watchdog
    /// ends the job after distributed.timeout_seconds.
    func testAStoppedRankEndsTheJobAfterTheTimeout() throws {
        let (seconds, status, output) = try signalRankOne(SIGSTOP, label: "rank-stopped", set: ["distributed.timeout_seconds=3"])
        XCTAssertLessThan(seconds, 30, "the job did not end within 30 s of the stop")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("no training step finished for"), "no watchdog message:\n\(output.suffix(1500))")
    }

    /// Starts a long 2-rank run, waits for its first checkpoint, sends `signal` to rank 1 and waits (60 s at most) for
    /// mpirun to end: the seconds that took, mpirun's status and everything printed. The checkpoint stays intact.
    private func signalRankOne(_ signal: Int32, label: String, set: [String] = []) throws -> (TimeInterval, Int32, String) {
        let runs = try runs()
        let recipe = runs.root.appendingPathComponent("long.yaml")
        try Self.recipe(batch: 8, steps: 1_000_000, corpus: runs.root.appendingPathComponent("corpus"))
            .write(to: recipe, atomically: true, encoding: .utf8)
        let run = runs.root.appendingPathComponent(label)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "\(run.path) is another test's run")
        let process = Process()
        process.executableURL = try requireMPIRun()
        process.arguments = ["--oversubscribe", "--allow-run-as-root"] + Self.unbound
            + ["-np", "2", try pretrainExecutable().path, "train", recipe.path, "--run-dir", run.path] + set.flatMap { ["--set", $0] }
        let log = runs.root.appendingPathComponent("\(label).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        (process.standardOutput, process.standardError) = (handle, handle)
        try process.run()
        let checkpoint = run.appendingPathComponent("checkpoints/step_000010/COMPLETE").path
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: checkpoint) {
            guard Date() < deadline, process.isRunning else {
                process.terminate()
                throw PretrainProcessError("no checkpoint within 60 s: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard let rank1 = Self.rankProcess(1, under: process.processIdentifier) else {
            process.terminate()
            throw PretrainProcessError("rank 1 not found among mpirun's children")
        }
        let sent = Date()
        kill(rank1, signal)
        while process.isRunning && Date().timeIntervalSince(sent) < 60 { Thread.sleep(forTimeInterval: 0.05) }
        let seconds = Date().timeIntervalSince(sent)
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        kill(rank1, SIGKILL)   // a stopped rank mpirun could not end
        process.waitUntilExit()
        try handle.close()
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint), "the checkpoint did not survive")
        return (seconds, process.terminationStatus, try String(contentsOf: log, encoding: .utf8))
    }

    func testAnErrorOnOneRankStopsEveryRankWithItsMessage() throws {
        let runs = try runs()
        let run = runs.root.appendingPathComponent("one-rank-fails")
        // MPMD launch: rank 1 alone is given a corpus that does not exist.
        let missing = runs.root.appendingPathComponent("no-such-corpus").path
        let started = Date()
        let (status, output) = try Self.mpi(1, ["train", runs.root.appendingPathComponent("two.yaml").path, "--run-dir", run.path, ":", "-np", "1",
                                                try pretrainExecutable().path, "train", runs.root.appendingPathComponent("two.yaml").path, "--run-dir", run.path,
                                                "--set", "data.corpus=\(missing)"], expectSuccess: false)
        XCTAssertNotEqual(status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 60)
        XCTAssertTrue(output.contains(missing), "the failing rank's message is missing:\n\(output.suffix(1500))")
    }

    /// The pid of the child of `parent` (mpirun) whose environment says it is rank `rank`.
    static func rankProcess(_ rank: Int, under parent: Int32) -> Int32? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[1]) == parent,
                  let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }
}
