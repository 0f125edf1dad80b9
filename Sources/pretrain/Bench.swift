import ArgumentParser
import Foundation
import Distributed
import Layers
import Optimizers
import Tensors
import Training

/// `pretrain bench`: performance measurements that print one JSON line each, for bench/compare.py to set beside
/// the PyTorch reference scripts (bench/torch_reference.py, bench/tokenizer_reference.py); and, under mpirun, the
/// collectives of data-parallel training (a table; docs/DISTRIBUTED.md).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training steps, tokenizer, fbank or curation throughput (one JSON line), or MPI collectives (a table).",
        subcommands: [BenchStep.self, BenchEval.self, BenchGenerate.self, BenchTokenizer.self, BenchFbank.self, BenchCurate.self, BenchAllReduce.self], defaultSubcommand: BenchStep.self)
}

/// `pretrain bench [step]`: times full training steps (forward, backward, clipping, AdamW) of a GPT-2-style or
/// BERT masked-LM model on random tokens after warm-up. bench/torch_reference.py prints the same line for PyTorch
/// with identical shapes, optimiser and FLOP formula.
struct BenchStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step", abstract: "Time full training steps of a named or given model; prints one JSON line.")

    @Option(help: "Named config: \(BenchShape.presets.keys.sorted().joined(separator: ", ")); flags below override it.")
    var model: String?
    @Option(help: "Architecture: gpt2 (causal LM), bert (masked LM, 15 % of positions predicted) or audio (TERA frame encoder, L1 reconstruction of 80-bin frames).")
    var arch: String?
    @Option(help: "Transformer blocks.") var layers: Int?
    @Option(name: .customLong("d-model"), help: "Model width.") var dModel: Int?
    @Option(help: "Attention heads.") var heads: Int?
    @Option(help: "Sequence length.") var seq: Int?
    @Option(help: "Sequences per step.") var batch: Int?
    @Option(help: "Vocabulary size.") var vocab: Int?
    @Option(help: ArgumentHelp(PrecisionOption.help)) var precision = "fp32"
    @Option(help: "Timed steps (the median is reported).") var steps: Int = 10
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 3
    @Option(help: "Threads (default: all available cores).") var threads: Int?
    @Option(name: .customLong("background-load"), help: "Busy processes (`yes > /dev/null`) kept running beside the timed steps: a loaded machine.")
    var backgroundLoad = 0
    @Flag(help: "After the timed steps, as many profiled steps: the time per op kind, forward and backward, on stderr and as profile_ms.")
    var profile = false

    func resolvedShape() throws -> BenchShape {
        var shape = BenchShape.presets["tiny"]!
        if let model {
            guard let preset = BenchShape.presets[model] else {
                throw ValidationError("unknown model '\(model)'; choose one of \(BenchShape.presets.keys.sorted().joined(separator: ", "))")
            }
            shape = preset
        }
        if let arch {
            guard let parsed = BenchShape.Architecture(rawValue: arch) else { throw ValidationError("--arch must be gpt2, bert or audio, got '\(arch)'") }
            shape.architecture = parsed
        }
        shape.layers = layers ?? shape.layers
        shape.dModel = dModel ?? shape.dModel
        shape.heads = heads ?? shape.heads
        shape.seq = seq ?? shape.seq
        shape.batch = batch ?? shape.batch
        shape.vocab = vocab ?? shape.vocab
        guard [shape.layers, shape.dModel, shape.heads, shape.seq, shape.batch].allSatisfy({ $0 >= 1 }),
              shape.vocab >= 2 || shape.architecture == .audio else {
            throw ValidationError("layers, d-model, heads, seq and batch must be ≥ 1 and vocab ≥ 2")
        }
        guard shape.dModel % shape.heads == 0 else {
            throw ValidationError("--d-model \(shape.dModel) is not divisible by --heads \(shape.heads)")
        }
        try shape.checkMemory(batch: shape.batch, names: ("--batch", "--seq"))
        return shape
    }

    func run() throws {
        let shape = try resolvedShape()
        guard steps > 0, warmup >= 0 else { throw ValidationError("--steps must be positive and --warmup non-negative") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
        Runtime.configure(threads: threads)
        let (requested, effective) = try PrecisionOption.apply(precision)
        guard backgroundLoad >= 0 else { throw ValidationError("--background-load must be ≥ 0") }
        let load = try BackgroundLoad(processes: backgroundLoad)
        defer { load.stop() }
        let workload = BenchWorkload(shape)
        for _ in 0..<warmup { workload.step() }
        var times: [Double] = [], exposed: [Double] = [], communication: [Double] = [], overlapped: [Double] = []
        for _ in 0..<steps {
            let start = DispatchTime.now().uptimeNanoseconds
            workload.step()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            if let averager = workload.averager {
                exposed.append(1000 * averager.lastExposedSeconds)
                communication.append(1000 * averager.lastCommunicationSeconds)
                overlapped.append(averager.lastOverlappedFraction)
            }
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        let milliseconds = median(times)
        let ranks = World.current.size
        let tokenCount = shape.batch * shape.seq * ranks
        let gflops = shape.flopsPerStep(parameters: workload.parameterCount) / (milliseconds / 1e3) / 1e9
        let ceiling = measureGEMM(backend: Matmul.backend, size: 1024, repeats: 5)
        let report: [(String, String)] = [
            ("impl", "\"swift-pretrain\""), ("model", "\"\(model ?? "custom")\""), ("arch", "\"\(shape.architecture.rawValue)\""),
            ("precision", "\"\(effective.rawValue)\""), ("requested_precision", "\"\(requested.rawValue)\""),
            ("params", "\(workload.parameterCount)"),
            ("tokens_per_s", String(format: "%.1f", Double(tokenCount) / (milliseconds / 1e3))),
            ("ms_per_step", String(format: "%.2f", milliseconds)),
            ("gflops", String(format: "%.1f", gflops)),
            ("matmul_ceiling_gflops", String(format: "%.1f", ceiling)),
            ("mfu", String(format: "%.3f", gflops / ceiling)),
            ("backend", "\"\(Matmul.backend.name)\""),
            ("threads", "\(Runtime.threads)"),
            ("ranks", "\(ranks)"), ("background_load", "\(backgroundLoad)"),
            ("omp_wait", "\"\(openMPWaitPolicy().split(separator: " ").first ?? "")\""),
            ("peak_rss_mb", String(format: "%.1f", peakResidentMegabytes())),
        ]
        var fields = report
        if profile {
            let breakdown = StepProfile.measure(steps: steps, step: workload.step)
            FileHandle.standardError.write(Data(breakdown.table.utf8))
            fields.append(("profile_ms", breakdown.json))
        }
        if !exposed.isEmpty {   // under mpirun: what the gradient all-reduce cost per step (medians)
            fields += [("allreduce_exposed_ms", String(format: "%.2f", median(exposed))),
                       ("allreduce_ms", String(format: "%.2f", median(communication))),
                       ("allreduce_overlapped", String(format: "%.3f", median(overlapped))),
                       ("buckets_resent", "\(workload.averager!.repairedBuckets)")]
        }
        print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }
}

/// Peak resident set size of this process (VmHWM in /proc/self/status, in kB).
func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kilobytes / 1024
}
