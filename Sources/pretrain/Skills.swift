import ArgumentParser
import Foundation
import Training

/// `pretrain skills graph RECIPE --steps H --out DIR [--init-from CKPT] [--set k=v]…`.
struct Skills: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skills", abstract: "Skill-it's skills graph, for data.skill_it's online mixture.",
        subcommands: [Graph.self])

    struct Graph: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Estimate the skills graph of a recipe's data.mixture: A[i][j], the drop of source j's val loss after H steps on source i alone.",
            discussion: """
                One short run per source in DIR/skill-<name> (the recipe's model, optimiser and seed), each from the \
                same start (the recipe's initialisation, or --init-from); every source's whole val split is evaluated \
                before and after. Writes DIR/graph.json (data.skill_it.graph) and DIR/graph.svg (a heat map).
                """)

        @Argument(help: "A recipe with a data.mixture of ≥ 2 sources (the skills).") var recipe: String
        @Option(help: ArgumentHelp("Training steps on each skill.", valueName: "H")) var steps: Int = 50
        @Option(help: "Output directory.") var out: String
        @Option(name: .customLong("init-from"), help: "Start every skill's run from this checkpoint or run directory.")
        var initFrom: String?
        @Option(name: .customLong("set"), help: ArgumentHelp("Override a recipe value by its dotted path (repeatable).",
                                                             valueName: "path=value"))
        var overrides: [String] = []

        func run() throws {
            let recipe = try Recipe.load(URL(fileURLWithPath: self.recipe), overrides: overrides)
            let graph = try SkillsGraph.estimate(recipe: recipe, steps: steps,
                                                 start: initFrom.map { .initFrom(URL(fileURLWithPath: $0)) } ?? .fresh,
                                                 out: URL(fileURLWithPath: out))
            let width = max(8, graph.skills.map(\.count).max() ?? 0)
            func pad(_ text: String) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
            print("A[i][j] (rows: trained on i; columns: val loss drop of j) after \(graph.steps) steps")
            print(pad("") + " " + graph.skills.map { pad($0) }.joined(separator: " "))
            for (name, row) in zip(graph.skills, graph.matrix) {
                print(pad(name) + " " + row.map { pad(String(format: "%+.4f", $0)) }.joined(separator: " "))
            }
            print("wrote \(out)/graph.json and graph.svg")
        }
    }
}
