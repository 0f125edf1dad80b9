import ArgumentParser
import Composition
import Foundation

/// `pretrain merge --method linear|task-arithmetic|ties|residual MODEL… [--base B] [--target T] --out DIR`: checkpoints of
/// one architecture combined in weight space into an ordinary checkpoint.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge checkpoints of one architecture in weight space: averages, task arithmetic, TIES, residual transfer.",
        discussion: """
            linear: Σ w_i θ_i over the models (--weights, normalised; uniform by default). task-arithmetic: \
            base + Σ λ_i (θ_i − base) (--weights gives λ, one for all or one each; default 1). ties: base + \
            scale · TIES(θ_i − base): each difference trimmed to its --density largest magnitudes per tensor, a sign \
            elected per weight, the agreeing differences averaged. residual: target + scale · (model − base), e.g. a \
            continued base plus an instruction residual. Every input must have the same model section, tensor names and \
            shapes, and tokenizer; the output is a checkpoint without optimiser state (train --init-from, eval, export).
            """)

    @Argument(help: "The checkpoints (or run directories) to merge; residual: the one whose difference from --base moves.")
    var models: [String]

    @Option(help: "linear, task-arithmetic, ties or residual.")
    var method: String

    @Option(help: "The parent the differences are taken from (task-arithmetic, ties, residual).")
    var base: String?

    @Option(help: "residual: the checkpoint the difference is added to.")
    var target: String?

    @Option(help: ArgumentHelp("linear: weights; task-arithmetic: λ (one, or one per model); comma-separated.", valueName: "W,…"))
    var weights: String?

    @Option(help: "ties and residual: the scale of the merged difference.")
    var scale: Double = 1

    @Option(help: "ties: the fraction of each difference's largest magnitudes kept (per tensor).")
    var density: Double = 0.2

    @Option(help: "Checkpoint directory to write (replaced if it is a checkpoint).")
    var out: String

    func run() throws {
        guard let method = MergeMethod(rawValue: method) else {
            throw CompositionError("--method \(method): expected \(MergeMethod.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var merge = CheckpointMerge(method: method, models: models.map { URL(fileURLWithPath: $0) })
        merge.base = base.map { URL(fileURLWithPath: $0) }
        merge.target = target.map { URL(fileURLWithPath: $0) }
        merge.weights = try weights.map { list in
            try list.split(separator: ",").map { item in
                guard let value = Double(item.trimmingCharacters(in: .whitespaces)) else {
                    throw CompositionError("--weights \(list): \(item) is not a number")
                }
                return value
            }
        }
        (merge.scale, merge.density) = (scale, density)
        let written = try merge.write(to: URL(fileURLWithPath: out))
        print("merged \(models.count) model\(models.count == 1 ? "" : "s") by \(method.rawValue) into \(written.path)")
    }
}
