import ArgumentParser
import Foundation
import Training

/// `pretrain stages PLAN [--out ROOT] [--set k=v]…`.
struct Stages: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stages",
        abstract: "Run a chain of recipes, each stage an ordinary run directory that starts from the previous stage's weights (ERNIE-Tiny's progressive distillation, sparse then dense training, further pre-training then self-distillation).",
        discussion: """
            PLAN lists the stages (name, recipe relative to PLAN, init_from: a stage, a checkpoint or none, set: \
            overrides where {stage:NAME} is that stage's run directory). Every stage runs in ROOT/<name>; rerunning \
            the same command skips finished stages and resumes an interrupted one from its newest checkpoint.
            """)

    @Argument(help: "Stages file (YAML) with a stages: list.")
    var plan: String

    @Option(help: ArgumentHelp("Directory of the stages' run directories (default: runs/<plan name>).", valueName: "ROOT"))
    var out: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a recipe value of every stage by its dotted path (repeatable).",
                                                         valueName: "path=value"))
    var overrides: [String] = []

    func run() throws {
        let url = URL(fileURLWithPath: plan)
        let root = out.map { URL(fileURLWithPath: $0) } ?? RunDirectory(defaultForRecipe: url).url
        let stages = try StagesPlan.load(url, root: root, overrides: overrides).stages
        let interrupt = InterruptFlag()
        if try runStages(stages, shouldStop: { interrupt.isSet }) {
            print("stages: \(stages.count) finished; the last is \(stages.last!.directory.path)")
        }
    }
}
