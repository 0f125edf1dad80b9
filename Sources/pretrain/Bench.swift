import ArgumentParser
import Foundation
import Layers
import Optimizers
import Tensors

/// `pretrain bench`: times full training steps (forward, backward, clipping, AdamW) of a GPT-2-style model on
/// random tokens after warm-up, and prints one JSON line. bench/torch_reference.py prints the same line for
/// PyTorch with identical shapes, optimiser and FLOP formula.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time full training steps of a GPT-2-style model; prints one JSON line.")

    @Option(help: "Named size: tiny (4/256/4/128/16/4096) or small (6/512/8/256/8/8192); flags below override it.")
    var model: String?
    @Option(help: "Transformer blocks.") var layers: Int?
    @Option(name: .customLong("d-model"), help: "Model width.") var dModel: Int?
    @Option(help: "Attention heads.") var heads: Int?
    @Option(help: "Sequence length.") var seq: Int?
    @Option(help: "Sequences per step.") var batch: Int?
    @Option(help: "Vocabulary size.") var vocab: Int?
    @Option(help: "Timed steps (the median is reported).") var steps: Int = 10
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 3
    @Option(help: "Threads (default: all available cores).") var threads: Int?

    struct Shape { var layers, dModel, heads, seq, batch, vocab: Int }

    static let presets: [String: Shape] = [
        "tiny": Shape(layers: 4, dModel: 256, heads: 4, seq: 128, batch: 16, vocab: 4096),
        "small": Shape(layers: 6, dModel: 512, heads: 8, seq: 256, batch: 8, vocab: 8192),
    ]

    func resolvedShape() throws -> Shape {
        var shape = Bench.presets["tiny"]!
        if let model {
            guard let preset = Bench.presets[model] else {
                throw ValidationError("unknown model '\(model)'; choose one of \(Bench.presets.keys.sorted().joined(separator: ", "))")
            }
            shape = preset
        }
        shape.layers = layers ?? shape.layers
        shape.dModel = dModel ?? shape.dModel
        shape.heads = heads ?? shape.heads
        shape.seq = seq ?? shape.seq
        shape.batch = batch ?? shape.batch
        shape.vocab = vocab ?? shape.vocab
        guard shape.dModel % shape.heads == 0 else {
            throw ValidationError("--d-model \(shape.dModel) is not divisible by --heads \(shape.heads)")
        }
        return shape
    }

    func run() throws {
        let shape = try resolvedShape()
        guard steps > 0, warmup >= 0 else { throw ValidationError("--steps must be positive and --warmup non-negative") }
        Runtime.configure(threads: threads)
        var generator = RandomGenerator(seed: 0)
        let config = GPTConfig(vocabSize: shape.vocab, contextLength: shape.seq, layers: shape.layers,
                               dModel: shape.dModel, heads: shape.heads, flavor: .gpt2)
        let model = GPTModel(config, generator: &generator)
        let optimizer = AdamW(model: model, learningRate: 3e-4, beta1: 0.9, beta2: 0.95, weightDecay: 0.1)
        let parameters = model.parameters
        let tokenCount = shape.batch * shape.seq
        let tokens = IntTensor((0..<tokenCount).map { _ in Int32(generator.nextInt(below: shape.vocab)) }, shape: [shape.batch, shape.seq])
        let targets = IntTensor((0..<tokenCount).map { _ in Int32(generator.nextInt(below: shape.vocab)) }, shape: [shape.batch, shape.seq])

        func step() {
            let loss = model.loss(tokens: tokens, targets: targets)
            optimizer.zeroGrad()
            loss.backward()
            clipGradNorm(parameters, maxNorm: 1)
            optimizer.step()
        }
        for _ in 0..<warmup { step() }
        var times: [Double] = []
        for _ in 0..<steps {
            let start = DispatchTime.now().uptimeNanoseconds
            step()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        let milliseconds = times.sorted()[times.count / 2]
        let params = model.parameterCount
        // 6·N·tokens for the matmuls with parameters, 12·L·C·T·tokens for attention scores and values.
        let flops = 6 * Double(params) * Double(tokenCount)
            + 12 * Double(shape.layers * shape.dModel * shape.seq) * Double(tokenCount)
        let gflops = flops / (milliseconds / 1e3) / 1e9
        let ceiling = measureGEMM(backend: Matmul.backend, size: 1024, repeats: 5)
        let report: [(String, String)] = [
            ("impl", "\"swift-pretrain\""), ("precision", "\"fp32\""), ("params", "\(params)"),
            ("tokens_per_s", String(format: "%.1f", Double(tokenCount) / (milliseconds / 1e3))),
            ("ms_per_step", String(format: "%.2f", milliseconds)),
            ("gflops", String(format: "%.1f", gflops)),
            ("matmul_ceiling_gflops", String(format: "%.1f", ceiling)),
            ("mfu", String(format: "%.3f", gflops / ceiling)),
            ("threads", "\(Runtime.threads)"),
            ("peak_rss_mb", String(format: "%.1f", peakResidentMegabytes())),
        ]
        print("{" + report.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }
}

/// Peak resident set size of this process (VmHWM in /proc/self/status, in kB).
func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kilobytes / 1024
}
