import ArgumentParser
import Foundation
import Layers
import Tensors

/// `pretrain bench eval`: logits of whole windows, forward only without the tape; one JSON line.
struct BenchEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Time forward passes over whole windows (no tape); one JSON line.")
    @OptionGroup var options: BenchInference
    func run() throws { try options.run(task: "eval") }
}

/// `pretrain bench generate`: greedy KV-cache decoding; one JSON line.
struct BenchGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Time greedy KV-cache generation of --gen-batch sequences; one JSON line.")
    @OptionGroup var options: BenchInference
    func run() throws { try options.run(task: "generate") }
}

/// A GPT-2 benchmark model's inference, forward only without the tape — whole windows (evaluation) or KV-cache
/// decoding (generation) — beside bench/torch_reference.py --task eval|generate under torch.inference_mode.
struct BenchInference: ParsableArguments {
    @Option(help: "Named GPT-2 config: \(BenchShape.presets.filter { $0.value.architecture == .gpt2 }.keys.sorted().joined(separator: ", ")).")
    var model = "tiny"
    @Option(name: .customLong("gen-batch"), help: "Sequences decoded together (generate).") var genBatch = 1
    @Option(help: "Prompt tokens (generate).") var prompt = 16
    @Option(name: .customLong("new-tokens"), help: "Tokens generated per sequence (generate).") var newTokens = 64
    @Option(help: "Context length (positions; default the config's): long generations need more.") var seq: Int?
    @Option(help: "Timed repetitions (the median is reported).") var repeats = 5
    @Option(help: "Untimed warm-up repetitions.") var warmup = 1
    @Option(help: "Threads (default: all available cores).") var threads: Int?
    @Option(help: ArgumentHelp(PrecisionOption.help)) var precision = "fp32"

    func run(task: String) throws {
        guard var shape = BenchShape.presets[model], shape.architecture == .gpt2 else {
            throw ValidationError("--model must be a GPT-2 config: \(BenchShape.presets.filter { $0.value.architecture == .gpt2 }.keys.sorted())")
        }
        if let seq {
            guard seq >= 2 else { throw ValidationError("--seq must be ≥ 2, got \(seq)") }
            shape.seq = seq
            // The training step's estimate: an upper bound for inference
            try shape.checkMemory(batch: task == "eval" ? shape.batch : genBatch,
                                  names: (task == "eval" ? "the config's batch" : "--gen-batch", "--seq"))
        }
        guard repeats >= 1, warmup >= 0, genBatch >= 1, prompt >= 1, newTokens >= 1, prompt + newTokens <= shape.seq else {
            throw ValidationError("--repeats, --gen-batch, --prompt and --new-tokens must be ≥ 1, prompt + new tokens ≤ \(shape.seq)")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
        Runtime.configure(threads: threads)
        let effective = try PrecisionOption.apply(precision).effective
        var generator = RandomGenerator(seed: 0)
        let gpt = try BenchWorkload.backbone(shape.modelSection, generator: &generator) as! GPTModel
        gpt.eval()
        let rows = task == "eval" ? shape.batch : genBatch
        let length = task == "eval" ? shape.seq : prompt
        let tokens = IntTensor((0..<(rows * length)).map { _ in Int32(generator.nextInt(below: shape.vocab)) }, shape: [rows, length])
        // Each repetition converts (bf16) or transposes the weights it reads once, as generation does.
        let body: () -> Void = task == "eval"
            ? { _ = gpt.inEvaluationMode { gpt.forward(tokens: tokens) } }
            : { _ = gpt.inEvaluationMode { Self.greedy(gpt, prompt: tokens, newTokens: newTokens) } }
        for _ in 0..<warmup { body() }
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let seconds = times.sorted()[times.count / 2]
        let produced = task == "eval" ? rows * length : rows * newTokens
        var fields: [(String, String)] = [
            ("impl", "\"swift-pretrain\""), ("model", "\"\(model)\""), ("task", "\"\(task)\""), ("batch", "\(rows)"),
            ("tokens_per_s", String(format: "%.1f", Double(produced) / seconds)), ("ms", String(format: "%.2f", 1000 * seconds)),
            ("threads", "\(Runtime.threads)"),
            ("precision", "\"\(effective.rawValue)\""), ("peak_rss_mb", String(format: "%.1f", peakResidentMegabytes())),
        ]
        if task == "eval" {
            // A forward pass is products, as a step is: its GFLOP/s beside the GEMM ceiling of the same process and
            // precision shows how much faster any implementation could run it here. (Generation reads weights for
            // a few rows at a time: bound by memory, not by this ceiling.)
            let gflops = shape.flopsPerForward(parameters: gpt.parameterCount) / seconds / 1e9
            let ceiling = measureGEMM(backend: Matmul.backend, size: 1024, repeats: 5)
            fields += [("gflops", String(format: "%.1f", gflops)), ("matmul_ceiling_gflops", String(format: "%.1f", ceiling)),
                       ("mfu", String(format: "%.3f", gflops / ceiling))]
        }
        print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }

    /// prompt: (B, P) → B sequences continued by `newTokens` greedy tokens through one KV cache.
    static func greedy(_ gpt: GPTModel, prompt: IntTensor, newTokens: Int) -> [[Int32]] {
        let (rows, vocabulary) = (prompt.shape[0], gpt.config.vocabSize)
        let cache = gpt.makeCache()
        var logits = gpt.forward(tokens: prompt, cache: cache)                              // (B, P, V)
        var last = prompt.shape[1] - 1
        var generated = [[Int32]](repeating: [], count: rows)
        for _ in 0..<newTokens {
            var next = [Int32](repeating: 0, count: rows)
            for b in 0..<rows {
                let row = UnsafeBufferPointer(start: logits.data + (b * logits.size(1) + last) * vocabulary, count: vocabulary)
                var best = 0
                for v in 1..<vocabulary where row[v] > row[best] { best = v }
                next[b] = Int32(best)
                generated[b].append(Int32(best))
            }
            logits = gpt.forward(tokens: IntTensor(next, shape: [rows, 1]), cache: cache)   // (B, 1, V)
            last = 0
        }
        return generated
    }
}
