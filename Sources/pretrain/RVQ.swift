import ArgumentParser
import Foundation
import Training

/// `pretrain rvq FEATURES --codebooks 4 --entries 64 --out T.safetensors`: MERT's acoustic teacher, a residual vector
/// quantiser of the stacked, normalised frames of a feature corpus' train split (objective.mert.rvq).
struct RVQ: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rvq", abstract: "Fit a residual vector quantiser of a feature corpus (MERT's acoustic teacher, objective.mert.rvq).")

    @Argument(help: "A feature corpus (pretrain features prepare); its train split is quantised.") var features: String
    @Option(help: "Codebooks (stages of the residual quantiser).") var codebooks = 4
    @Option(help: "Entries per codebook.") var entries = 64
    @Option(name: .customLong("frame-stack"), help: "Frames per vector: the student's model.frame_stack.") var frameStack = 2
    @Option(name: .customLong("max-vectors"), help: "Fit on at most this many stacked frames, drawn by --seed.") var maxVectors = 200_000
    @Option(help: "Mini-batch k-means updates per codebook.") var iterations = 200
    @Option(help: "Seed of the sample and of the k-means.") var seed: UInt64 = 0
    @Option(help: "Output safetensors file.") var out: String

    func run() throws {
        var options = RVQTeacher.Options()
        (options.codebooks, options.entries, options.frameStack) = (codebooks, entries, frameStack)
        (options.limit, options.iterations, options.seed) = (maxVectors, iterations, seed)
        let progress = TaskProgress("rvq", unit: "updates")
        let teacher = try RVQTeacher.fit(corpus: URL(fileURLWithPath: features), options: options) { codebook, done, total in
            progress.update(Double(codebook * total + done), of: Double(codebooks * total))
        }
        progress.finish()
        try RVQTeacher.write(teacher, to: URL(fileURLWithPath: out))
        print("\(codebooks) codebooks of \(entries) entries over \(frameStack) stacked frames; reconstruction MSE after each "
            + "codebook: \(teacher.metadata["errors"] ?? "")")
        print("wrote \(out)")
    }
}
