import Foundation
import TestSupport
import Training
import XCTest

/// The `pretrain train` / `pretrain eval` commands as a user runs them, in a subprocess: exact resume after
/// kill -9, and clear errors (non-zero exit, no trap) for mistakes a user can make.
final class CommandLineTests: XCTestCase {
    @discardableResult
    private func launch(_ arguments: [String], in directory: URL) throws -> (process: Process, output: URL) {
        let process = Process()
        process.executableURL = try pretrainExecutable()
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let output = directory.appendingPathComponent("output-\(UUID().uuidString.prefix(6)).txt")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return (process, output)
    }

    private func runToCompletion(_ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        try runPretrain(arguments, in: directory)
    }

    /// `width` sets d_model: the kill test uses a wider model so that a step takes milliseconds even in release,
    /// leaving time to kill the run between checkpoints.
    private func writeTinyRecipe(in directory: URL, steps: Int, width: Int = 16) throws -> URL {
        let recipe = directory.appendingPathComponent("tiny.yaml")
        try """
            model: {layers: 2, d_model: \(width), heads: 2, context: 8, dropout: 0.1}
            data: {corpus: corpus}
            optim: {lr: 3e-3, batch_size: 4, grad_accum: 2}
            schedule: {kind: cosine, warmup: 5, min_lr: 3e-4}
            train: {steps: \(steps), eval_every: 20, eval_batches: 2, log_every: 1, checkpoint_every: 10, keep_last: 3, seed: 5}
            """.write(to: recipe, atomically: true, encoding: .utf8)
        return recipe
    }

    /// A run killed with SIGKILL somewhere after its second checkpoint, then resumed, logs exactly the curve of
    /// an uninterrupted run (every row after the surviving checkpoint is recomputed and replaced).
    func testKillNineBetweenCheckpointsThenResumeEqualsAnUninterruptedRun() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writePrepared(to: root.appendingPathComponent("corpus"))
        _ = try writeTinyRecipe(in: root, steps: 120, width: 256)

        let straight = try runToCompletion(["train", "tiny.yaml", "--run-dir", "straight"], in: root)
        XCTAssertEqual(straight.status, 0, straight.output)

        let (victim, _) = try launch(["train", "tiny.yaml", "--run-dir", "killed"], in: root)
        let store = CheckpointStore(runDirectory: root.appendingPathComponent("killed"))
        let deadline = Date().addingTimeInterval(300)
        while victim.isRunning && (store.completeCheckpoints().last?.step ?? 0) < 20 && Date() < deadline { usleep(2000) }
        // Let it get a few steps past the checkpoint, so the kill lands between checkpoints with rows to discard.
        let metricsURL = root.appendingPathComponent("killed/metrics.jsonl")
        while victim.isRunning, ((try? readMetrics(metricsURL))?.last?.step ?? 0) < 23, Date() < deadline { usleep(1000) }
        guard victim.isRunning else {
            return XCTFail("the run finished before it could be killed: make its steps slower (a wider model)")
        }
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        XCTAssertEqual(victim.terminationReason, .uncaughtSignal)
        let killedAt = (try readMetrics(metricsURL)).last?.step ?? 0
        let surviving = try XCTUnwrap(store.completeCheckpoints().last?.step)
        XCTAssertLessThan(surviving, 120, "killed before the end")
        print("killed at step \(killedAt); newest complete checkpoint: step \(surviving)")

        let resumed = try runToCompletion(["train", "--resume", "killed"], in: root)
        XCTAssertEqual(resumed.status, 0, resumed.output)
        assertSameCurves(try readMetrics(metricsURL), try readMetrics(root.appendingPathComponent("straight/metrics.jsonl")))
        XCTAssertEqual(store.completeCheckpoints().map(\.step), [100, 110, 120])
    }

    func testEvalReportsLossPerplexityAndBitsPerByte() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writePrepared(to: root.appendingPathComponent("corpus"))
        _ = try writeTinyRecipe(in: root, steps: 10)
        XCTAssertEqual(try runToCompletion(["train", "tiny.yaml", "--run-dir", "run"], in: root).status, 0)
        let result = try runToCompletion(["eval", "run", "--data", "corpus", "--json"], in: root)
        XCTAssertEqual(result.status, 0, result.output)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], result.output)
        let loss = try XCTUnwrap(object["loss"] as? Double)
        XCTAssertEqual(try XCTUnwrap(object["perplexity"] as? Double), exp(loss), accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(object["bits_per_byte"] as? Double), loss / (4 * log(2)), accuracy: 1e-9)
        // The final evaluation of training is the same number.
        let last = try XCTUnwrap(try readMetrics(root.appendingPathComponent("run/metrics.jsonl")).last?.valLoss)
        XCTAssertEqual(loss, last, accuracy: 1e-6)
    }

    /// A BERT recipe trains with the masked-LM objective on a corpus whose tokenizer has a [MASK] token.
    func testAMaskedLanguageModelRecipeTrainsABert() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writeMaskedLMCorpus(in: root)
        try """
            model: {flavor: bert, layers: 1, d_model: 16, heads: 2, context: 16}
            objective: {kind: masked_lm, masking: {rate: 0.2, whole_word: true}}
            data: {corpus: corpus}
            optim: {batch_size: 4}
            train: {steps: 6, eval_every: 3, log_every: 1, checkpoint_every: 3}
            """.write(to: root.appendingPathComponent("bert.yaml"), atomically: true, encoding: .utf8)
        let train = try runToCompletion(["train", "bert.yaml", "--run-dir", "run"], in: root)
        XCTAssertEqual(train.status, 0, train.output)
        let rows = try readMetrics(root.appendingPathComponent("run/metrics.jsonl"))
        XCTAssertEqual(rows.filter(\.isEvaluation).map(\.step), [3, 6])
        XCTAssertNotNil(rows.last?.valLoss)
        XCTAssertNil(rows.last?.valBitsPerByte, "bits per byte is a causal-LM number")
        let config = try CheckpointConfig.read(root.appendingPathComponent("run/checkpoints/step_000006/config.json"))
        XCTAssertEqual(config.objective.kind, .maskedLM)
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("run/checkpoints/step_000006/tokenizer.json").path))
        let eval = try runToCompletion(["eval", "run", "--data", "corpus"], in: root)
        XCTAssertEqual(eval.status, 0, eval.output)
    }

    /// Continual pre-training from a Hugging Face directory: export a run, start a new one from the export.
    func testInitFromAHuggingFaceDirectory() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writePrepared(to: root.appendingPathComponent("corpus"))
        _ = try writeTinyRecipe(in: root, steps: 10)
        XCTAssertEqual(try runToCompletion(["train", "tiny.yaml", "--run-dir", "first"], in: root).status, 0)
        let export = try runToCompletion(["export", "first", "--format", "hf", "--out", "hf"], in: root)
        XCTAssertEqual(export.status, 0, export.output)

        let continued = try runToCompletion(["train", "tiny.yaml", "--run-dir", "second", "--init-from", "hf",
                                             "--set", "train.steps=3"], in: root)
        XCTAssertEqual(continued.status, 0, continued.output)
        let state = try TrainerState.read(root.appendingPathComponent("second/checkpoints/step_000003/trainer_state.json"))
        XCTAssertEqual(state.initializedFrom.map { URL(fileURLWithPath: $0).lastPathComponent }, "hf")

        let wider = try runToCompletion(["train", "tiny.yaml", "--run-dir", "third", "--init-from", "hf",
                                         "--set", "model.d_model=24"], in: root)
        XCTAssertNotEqual(wider.status, 0)
        XCTAssertTrue(wider.output.contains("transformer.wte.weight: checkpoint [64, 16], model [64, 24]"), wider.output)
    }

    /// `pretrain bench --arch audio` times TERA's frame encoder: one JSON line whose parameter count is the one
    /// Without a policy in the environment `pretrain` runs with GOMP_SPINCOUNT=1000 (set at start-up, before
    /// libgomp reads it, by executing itself again with the same arguments); a policy the user set is kept, and
    /// PRETRAIN_OMP_REEXEC=0 leaves libgomp's default.
    func testTheOpenMPWaitPolicyIsPassiveUnlessTheUserChoseOne() throws {
        func sysinfo(_ extra: [String: String]) throws -> String {
            let process = Process()
            process.executableURL = try pretrainExecutable()
            process.arguments = ["sysinfo"]
            var environment = ProcessInfo.processInfo.environment
            for name in ["OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "PRETRAIN_OMP_REEXEC", "PRETRAIN_OMP_POLICY_SET"] { environment[name] = nil }
            process.environment = environment.merging(extra) { $1 }
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, output)
            return output.split(separator: "\n").first { $0.hasPrefix("omp wait:") }.map(String.init) ?? output
        }
        XCTAssertEqual(try sysinfo([:]), "omp wait:   GOMP_SPINCOUNT=1000 (set at start-up; OMP_WAIT_POLICY or GOMP_SPINCOUNT override it)")
        XCTAssertEqual(try sysinfo(["OMP_WAIT_POLICY": "active"]), "omp wait:   OMP_WAIT_POLICY=active (from the environment)")
        XCTAssertEqual(try sysinfo(["GOMP_SPINCOUNT": "1000"]), "omp wait:   GOMP_SPINCOUNT=1000 (from the environment)")
        XCTAssertEqual(try sysinfo(["PRETRAIN_OMP_REEXEC": "0"]), "omp wait:   libgomp's default (PRETRAIN_OMP_REEXEC=0)")
    }

    /// `--background-load 1`: the steps run beside a busy process, which is gone when the benchmark ends.
    func testBenchUnderBackgroundLoadLeavesNothingRunning() throws {
        let root = try makeTemporaryDirectory()
        let before = Self.runningYes()
        let result = try runToCompletion(["bench", "--layers", "1", "--d-model", "32", "--heads", "2", "--seq", "16", "--batch", "2",
                                          "--vocab", "64", "--steps", "1", "--warmup", "0", "--background-load", "1"], in: root)
        XCTAssertEqual(result.status, 0, result.output)
        let line = try XCTUnwrap(result.output.split(separator: "\n").last)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(report["background_load"] as? Int, 1)
        XCTAssertEqual(Self.runningYes(), before, "the busy process is stopped")
    }

    /// Processes named `yes` on the machine (/proc/PID/comm).
    static func runningYes() -> Int {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.filter { Int($0) != nil } ?? []
        return pids.filter { (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8)) == "yes\n" }.count
    }

    /// `bench eval` and `bench generate`: one JSON line each with the tokens produced per second and the precision
    /// the products ran in.
    func testBenchOfInferencePrintsOneJSONLine() throws {
        let root = try makeTemporaryDirectory()
        for (task, extra, batch, precision) in [("eval", [String](), 16, "fp32"),
                                                ("generate", ["--gen-batch", "2", "--prompt", "4", "--new-tokens", "3"], 2, "fp32"),
                                                ("generate", ["--new-tokens", "3", "--precision", "bf16-emulated"], 1, "bf16-emulated")] {
            let result = try runToCompletion(["bench", task, "--model", "tiny", "--repeats", "1", "--warmup", "0"] + extra, in: root)
            XCTAssertEqual(result.status, 0, result.output)
            let line = try XCTUnwrap(result.output.split(separator: "\n").last)
            let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(report["task"] as? String, task)
            XCTAssertEqual(report["batch"] as? Int, batch)
            XCTAssertEqual(report["precision"] as? String, precision)
            XCTAssertGreaterThan(report["tokens_per_s"] as? Double ?? 0, 0)
            // eval: its GFLOP/s over the GEMM ceiling measured beside it
            if task == "eval" {
                let gflops = try XCTUnwrap(report["gflops"] as? Double), ceiling = try XCTUnwrap(report["matmul_ceiling_gflops"] as? Double)
                XCTAssertGreaterThan(gflops, 0)
                XCTAssertEqual(try XCTUnwrap(report["mfu"] as? Double), gflops / ceiling, accuracy: 0.002)
            } else {
                XCTAssertNil(report["mfu"])
            }
        }
        let wrong = try runToCompletion(["bench", "generate", "--model", "bert-tiny"], in: root)
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.output.contains("--model must be a GPT-2 config"), wrong.output)
        let precision = try runToCompletion(["bench", "eval", "--precision", "fp8"], in: root)
        XCTAssertNotEqual(precision.status, 0)
        XCTAssertTrue(precision.output.contains("--precision must be one of fp32, bf16, bf16-emulated"), precision.output)
        // --seq: a longer context than the config's for long generations; too short, or too large for memory, refused
        let long = try runToCompletion(["bench", "generate", "--model", "tiny", "--seq", "200", "--prompt", "4",
                                        "--new-tokens", "150", "--repeats", "1", "--warmup", "0"], in: root)
        XCTAssertEqual(long.status, 0, long.output)
        XCTAssertTrue(long.output.contains("\"task\": \"generate\""), long.output)
        for (seq, message) in [("1", "--seq must be ≥ 2"), ("100000000", "lower --gen-batch, --seq")] {
            let refused = try runToCompletion(["bench", "generate", "--seq", seq], in: root)
            XCTAssertNotEqual(refused.status, 0)
            XCTAssertTrue(refused.output.contains(message), refused.output)
        }
    }

    /// `--profile`: the step's time by op kind on stderr and as profile_ms, the kinds of a GPT step all there, their sum
    /// (with what no kind explains) the profiled step's wall time.
    func testBenchProfileBreaksTheStepDownByOpKind() throws {
        let root = try makeTemporaryDirectory()
        let result = try runToCompletion(["bench", "--layers", "1", "--d-model", "32", "--heads", "2", "--seq", "16", "--batch", "2",
                                          "--vocab", "64", "--steps", "2", "--warmup", "1", "--profile"], in: root)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("phase     kind"), result.output)
        let line = try XCTUnwrap(result.output.split(separator: "\n").last)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let profile = try XCTUnwrap(report["profile_ms"] as? [String: Double])
        for kind in ["forward.gemm", "forward.attention", "forward.norm", "forward.embedding", "forward.output projection + loss",
                     "backward.gemm", "backward.attention", "backward.norm", "step.optimizer", "step.clip"] {
            XCTAssertGreaterThan(profile[kind] ?? 0, 0, kind)
        }
        let explained = profile.filter { !["step", "new_buffers"].contains($0.key) && !$0.key.contains("allocation") }.values.reduce(0, +)
        XCTAssertEqual(explained, try XCTUnwrap(profile["step"]), accuracy: 0.01)
    }

    /// bench/torch_reference.py's TERAFrames has for the same shape (so the side-by-side ratio compares like with like).
    func testBenchOfTheAudioEncoderPrintsOneJSONLine() throws {
        let root = try makeTemporaryDirectory()
        let result = try runToCompletion(["bench", "--arch", "audio", "--layers", "1", "--d-model", "32", "--heads", "2",
                                          "--seq", "8", "--batch", "2", "--steps", "1", "--warmup", "0"], in: root)
        XCTAssertEqual(result.status, 0, result.output)
        let line = try XCTUnwrap(result.output.split(separator: "\n").last)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(report["arch"] as? String, "audio")
        // input projection 160→32, positions 8×32, LayerNorm; one BERT layer (q, k, v, out 32×32, two norms,
        // 32→128→32); head dense 32×32, LayerNorm, decoder 32→160.
        let layer = 4 * (32 * 32 + 32) + 2 * 64 + (32 * 128 + 128) + (128 * 32 + 32)
        let expected = (160 * 32 + 32) + 8 * 32 + 64 + layer + (32 * 32 + 32) + 64 + (32 * 160 + 160)
        XCTAssertEqual(report["params"] as? Int, expected)
        XCTAssertGreaterThan(report["ms_per_step"] as? Double ?? 0, 0)
    }

    func testUserErrorsExitNonZeroWithAMessage() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writePrepared(to: root.appendingPathComponent("corpus"))
        try "optim: {lr: 1e-3, learning_rate: 2}\n".write(to: root.appendingPathComponent("typo.yaml"), atomically: true, encoding: .utf8)
        try "model: [1, 2\n".write(to: root.appendingPathComponent("broken.yaml"), atomically: true, encoding: .utf8)
        _ = try writeTinyRecipe(in: root, steps: 5)
        let cases: [([String], String)] = [
            (["train", "missing.yaml"], "missing.yaml: cannot read the recipe"),
            (["train", "typo.yaml"], "unknown key 'optim.learning_rate'"),
            (["train", "broken.yaml"], "not valid YAML"),
            (["train", "tiny.yaml", "--set", "model.heads=3"], "must be a positive multiple of model.heads"),
            (["train", "tiny.yaml", "--set", "data.corpus=nowhere"], "nowhere/corpus.json"),
            (["train", "--resume", "nowhere"], "not a run directory"),
            (["train", "tiny.yaml", "--init-from", "nowhere"], "no such checkpoint or run directory"),
            (["eval", "nowhere", "--data", "corpus"], "no such checkpoint or run directory"),
        ]
        for (arguments, expected) in cases {
            let result = try runToCompletion(arguments, in: root)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertFalse([SIGILL, SIGTRAP, SIGABRT].contains(result.status), "\(arguments) trapped")
            XCTAssertTrue(result.output.contains(expected), "\(arguments): \(result.output)")
        }
    }
}
