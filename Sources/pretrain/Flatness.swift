import ArgumentParser
import FileErrors
import Foundation
import Tensors
import Training

/// `pretrain flatness CKPT_OR_RUN --data DIR`: the trace and top eigenvalue of the pre-training loss' Hessian at a
/// checkpoint, on fixed batches of a prepared corpus' val split (docs/EVALUATION.md, Flatness).
struct Flatness: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flatness",
        abstract: "Hessian trace (Hutchinson) and top eigenvalue (power iteration) of a checkpoint's pre-training loss.",
        discussion: "Hessian-vector products by central differences of gradients; see docs/EVALUATION.md.")

    @Argument(help: "A checkpoint directory, or a run directory (its newest complete checkpoint).")
    var checkpoint: String

    @Option(help: "Prepared corpus directory (from `pretrain tokenize`); its val split's first windows are the batches.")
    var data: String

    @Option(help: "Evaluation batches the loss is taken over (the first N of the val split).")
    var batches: Int = 2

    @Option(name: .customLong("batch-size"), help: "Windows per batch.")
    var batchSize: Int = 8

    @Option(help: "Rademacher vectors of Hutchinson's trace estimate (at least 2).")
    var samples: Int = 16

    @Option(help: "Most power iterations (Hessian-vector products) for the top eigenvalue.")
    var iterations: Int = 20

    @Option(help: "Stop the power iteration once the estimate changes by less than this, relative.")
    var tolerance: Double = 1e-3

    @Option(help: "Seed of the Rademacher vectors.")
    var seed: UInt64 = 0

    @Option(help: "Compute threads (default: every core this process may use).")
    var threads: Int?

    @Flag(help: "Print one JSON object instead of a sentence.")
    var json = false

    @Option(help: "Also write the JSON report to this file.")
    var out: String?

    func validate() throws {
        guard batches >= 1 else { throw ValidationError("--batches must be ≥ 1, got \(batches)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be ≥ 1, got \(batchSize)") }
        guard samples >= 2 else {
            throw ValidationError("--samples must be ≥ 2 (the interval needs a standard deviation), got \(samples)")
        }
        guard iterations >= 1 else { throw ValidationError("--iterations must be ≥ 1, got \(iterations)") }
        guard tolerance > 0, tolerance.isFinite else { throw ValidationError("--tolerance must be positive, got \(tolerance)") }
    }

    func run() throws {
        if let threads { Runtime.configure(threads: threads) }
        var options = FlatnessOptions()
        (options.samples, options.iterations, options.tolerance, options.seed) = (samples, iterations, tolerance, seed)
        let progress = TaskProgress("flatness", unit: "Hessian-vector products")
        let (directory, report) = try CheckpointFlatness.measure(
            checkpoint: URL(fileURLWithPath: checkpoint), corpus: URL(fileURLWithPath: data), batches: batches,
            batchSize: batchSize, options: options) { progress.update(Double($0), of: Double($1)) }
        progress.finish()
        var object = report.jsonObject
        object["checkpoint"] = directory.path
        object["corpus"] = URL(fileURLWithPath: data).path
        object["split"] = "val"
        object["batch_size"] = batchSize
        let encoded = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        if let out {
            try FileError.wrap("write", path: out) { try encoded.write(to: URL(fileURLWithPath: out), options: .atomic) }
        }
        if json {
            print(String(decoding: encoded, as: UTF8.self))
        } else {
            print(summary(report, name: directory.lastPathComponent))
        }
    }

    /// `step_000040 val (2 batches, 128 predicted tokens, loss 3.2101): Hessian trace 12.3 ± 4.5 (95 %, 16 samples) │ …`
    private func summary(_ report: FlatnessReport, name: String) -> String {
        let top = report.topEigenvalue
        let change = top.relativeChange.map { String(format: "last relative change %.2g after \(top.iterations) iterations", $0) }
            ?? "a single iteration"
        return "\(name) val (\(report.batches) batches, \(report.predictedPositions) predicted tokens, "
            + String(format: "loss %.4f): ", report.loss)
            + String(format: "Hessian trace %.6g ± %.3g (95 %%, %d Rademacher samples) │ ", report.trace.mean,
                     report.trace.halfWidth, report.trace.samples.count)
            + String(format: "top eigenvalue %.6g (", top.eigenvalue) + change + (top.converged ? ") │ " : ", not converged) │ ")
            + "Hv by \(FlatnessReport.method), relativeStep \(report.options.relativeStep)"
    }
}
