import ArgumentParser
import Foundation
import Tensors
import Training

/// `pretrain beats --iterations K RECIPE [--out RUN_ROOT] [--set k=v]…`.
struct BEATs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beats",
        abstract: "BEATs' iterative pre-training: iteration 1 learns random-projection labels; each next iteration distils an acoustic tokenizer from the last SSL model and pre-trains a new one on its labels.",
        discussion: """
            Every stage is a normal run directory under RUN_ROOT: iter1/ssl, iter2/tokenizer, iter2/ssl, … Rerunning \
            the same command skips finished stages and resumes an interrupted one from its newest checkpoint. The \
            recipe is iteration 1's (audio_patches, objective.kind bestrq) with a beats: section (recipes/beats-small.yaml).
            """)

    @Argument(help: "Loop recipe (YAML): a bestrq recipe for audio_patches with a beats: section.")
    var recipe: String

    @Option(help: "Iterations (1: only the random-projection SSL model).")
    var iterations: Int

    @Option(help: ArgumentHelp("Directory of the stages' run directories (default: runs/<recipe name>).", valueName: "RUN_ROOT"))
    var out: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a recipe value by its dotted path, e.g. data.features=DIR or beats.ssl_steps=300 (repeatable).",
                                                         valueName: "path=value"))
    var overrides: [String] = []

    func validate() throws {
        if iterations < 1 { throw ValidationError("--iterations must be ≥ 1") }
    }

    func run() throws {
        let url = URL(fileURLWithPath: recipe)
        let root = out.map { URL(fileURLWithPath: $0) } ?? RunDirectory(defaultForRecipe: url).url
        let loop = try BEATsLoop.load(url, root: root, overrides: overrides)
        if let threads = loop.base.train.threads { Runtime.configure(threads: threads) }
        let interrupt = InterruptFlag()
        let stages = try loop.run(iterations: iterations, shouldStop: { interrupt.isSet })
        if stages.allSatisfy({ $0.progress == .finished }) {
            print("BEATs: \(iterations) iteration(s) finished; SSL models: "
                + stages.filter { $0.name.hasSuffix("/ssl") }.map(\.directory.path).joined(separator: ", "))
        }
    }
}
