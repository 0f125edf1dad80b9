import Foundation
import TestSupport
import Training
import XCTest

/// Skill-it (`data.skill_it`, `pretrain skills graph`): the online rule is the paper's exponentiated update over the
/// last `window` rounds; the graph comes from one short run per source; a Skill-it run draws by the rule's weights,
/// logs them, and resumes exactly; mistakes are one line naming the key or the file.
final class SkillItTests: XCTestCase {
    private let silent = ConsoleProgress(mode: .silent)

    private func graph(_ matrix: [[Double]], skills: [String] = ["a", "b"]) -> SkillsGraph {
        SkillsGraph(skills: skills, matrix: matrix, steps: 5, lossesBefore: skills.map { _ in 4 })
    }

    func testTheWeightsAreTheExponentiatedUpdateOverTheLastRounds() throws {
        var settings = SkillItSection()
        (settings.eta, settings.window) = (0.5, 2)
        // The graph's rows in another order than the plan's: the rule reorders them.
        let graph = graph([[0.0, 0.2], [1.0, 0.1]], skills: ["b", "a"])
        var rule = try SkillItRule(settings, graph: graph, sources: ["a", "b"], graphFile: "g.json")
        XCTAssertEqual(rule.matrix, [[0.1, 1.0], [0.2, 0.0]])   // rows a, b; columns a, b
        XCTAssertEqual(rule.state.weights, [0.5, 0.5])
        func expected(_ rounds: [[Double]]) -> [Double] {
            let exponents = rule.matrix.map { row in 0.5 * rounds.reduce(0) { $0 + row[0] * $1[0] + row[1] * $1[1] } }
            let total = exponents.map { exp($0) }.reduce(0, +)
            return exponents.map { exp($0) / total }
        }
        rule.observe([3, 2])
        XCTAssertEqual(rule.state.weights[0], expected([[3, 2]])[0], accuracy: 1e-12)
        rule.observe([2.5, 1])
        rule.observe([2, 0.5])   // the window keeps the last two rounds
        XCTAssertEqual(rule.state.losses, [[2.5, 1], [2, 0.5]])
        XCTAssertEqual(rule.state.weights[0], expected([[2.5, 1], [2, 0.5]])[0], accuracy: 1e-12)
        XCTAssertEqual(rule.state.weights.reduce(0, +), 1, accuracy: 1e-12)
        // Large exponents do not overflow.
        XCTAssertEqual(SkillItRule.weights(matrix: [[1000], [0]], losses: [[10]], eta: 1), [1, 0])

        var targeted = settings
        targeted.targets = ["b"]
        XCTAssertEqual(try SkillItRule(targeted, graph: graph, sources: ["a", "b"], graphFile: "g.json").matrix, [[1.0], [0.0]])
        XCTAssertThrowsError(try SkillItRule(settings, graph: graph, sources: ["a", "c"], graphFile: "g.json")) {
            XCTAssertEqual("\($0)", "g.json: the graph's skills (b, a) are not the sources of data.mixture (a, c)")
        }
    }

    func testTheGraphComesFromOneShortRunPerSource() throws {
        let root = try makeTemporaryDirectory()
        var recipe = MixtureTests.mixtureRecipe(steps: 1)
        recipe.data.phases = []
        let graph = try SkillsGraph.estimate(recipe: recipe, steps: 15, out: root, corpus: MixtureTests.mixtureCorpus(), console: silent)
        XCTAssertEqual(graph.skills, ["a", "b"])
        XCTAssertEqual(graph.steps, 15)
        XCTAssertTrue(graph.lossesBefore.allSatisfy { $0 > 3 }, "\(graph.lossesBefore)")   // about ln 64 untrained
        // Training on a source lowers its own val loss.
        XCTAssertGreaterThan(graph.matrix[0][0], 0)
        XCTAssertGreaterThan(graph.matrix[1][1], 0)
        // A[i][j] is the loss before less the last (whole-split) evaluation of skill-i's run on source j.
        for (i, skill) in graph.skills.enumerated() {
            let last = try XCTUnwrap(try readMetrics(root.appendingPathComponent("skill-\(skill)/metrics.jsonl")).last)
            for (j, source) in graph.skills.enumerated() {
                XCTAssertEqual(graph.matrix[i][j], graph.lossesBefore[j] - (try XCTUnwrap(last.namedValidationLosses[source])),
                               accuracy: 1e-9, "A[\(skill)][\(source)]")
            }
        }
        XCTAssertEqual(try SkillsGraph.load(root.appendingPathComponent("graph.json")), graph)
        let svg = try String(contentsOf: root.appendingPathComponent("graph.svg"), encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.contains(String(format: "%.3f", graph.matrix[0][1])))
        // Each skill trained on its source alone.
        let onA = try readMetrics(root.appendingPathComponent("skill-a/metrics.jsonl")).last!
        XCTAssertEqual(onA.sourceTokens["b"], 0)
    }

    private func skillItRecipe(steps: Int, graph: URL) -> Recipe {
        var recipe = MixtureTests.mixtureRecipe(steps: steps)
        recipe.data.phases = []
        var section = SkillItSection()
        (section.graph, section.every, section.window, section.evalBatches, section.eta) = (graph.path, 3, 2, 1, 2)
        recipe.data.skillIt = section
        return recipe
    }

    func testASkillItRunDrawsByTheRuleAndResumesExactly() throws {
        let root = try makeTemporaryDirectory()
        let graphFile = root.appendingPathComponent("graph.json")
        // Training on a helps both skills, training on b neither: a's weight grows with the losses.
        try graph([[1, 1], [0, 0]]).write(to: graphFile)
        let recipe = skillItRecipe(steps: 12, graph: graphFile)
        let straight = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("straight"),
                                   corpus: MixtureTests.mixtureCorpus(), console: silent)
        try straight.run()
        let interrupted = root.appendingPathComponent("interrupted")
        try Trainer(recipe: recipe, runDirectory: interrupted, corpus: MixtureTests.mixtureCorpus(), console: silent).run(stopAfter: 5)
        let resumed = try Trainer(recipe: recipe, runDirectory: interrupted, corpus: MixtureTests.mixtureCorpus(), start: .resume,
                                  console: silent)
        try resumed.run()
        let expected = try readMetrics(root.appendingPathComponent("straight/metrics.jsonl"))
        let actual = try readMetrics(interrupted.appendingPathComponent("metrics.jsonl"))
        assertSameCurves(actual, expected)
        XCTAssertEqual(actual.map(\.sourceTokens), expected.map(\.sourceTokens))
        XCTAssertEqual(actual.map { $0.objectiveMetrics["mixture_weight/a"] }, expected.map { $0.objectiveMetrics["mixture_weight/a"] })

        // Weight of a: exp(2·(L_a + L_b)) against exp(0) with losses near ln 64 each: nearly 1; b draws almost nothing.
        let weights = expected.compactMap { $0.objectiveMetrics["mixture_weight/a"] }
        XCTAssertEqual(weights.count, expected.count)
        XCTAssertTrue(weights.allSatisfy { $0 > 0.999 }, "\(weights)")
        let tokens = try XCTUnwrap(expected.last?.sourceTokens)
        XCTAssertLessThan(Double(tokens["b"]!), 0.01 * Double(tokens["a"]!), "\(tokens)")

        // A checkpoint without Skill-it state cannot be resumed with it.
        var plain = MixtureTests.mixtureRecipe(steps: 12)
        plain.data.phases = []
        let staticRun = root.appendingPathComponent("static")
        try Trainer(recipe: plain, runDirectory: staticRun, corpus: MixtureTests.mixtureCorpus(), console: silent).run(stopAfter: 4)
        XCTAssertThrowsError(try Trainer(recipe: recipe, runDirectory: staticRun, corpus: MixtureTests.mixtureCorpus(), start: .resume,
                                         console: silent)) {
            XCTAssertTrue("\($0)".contains("was written without data.skill_it"), "\($0)")
        }
    }

    func testMistakesAreOneLineNamingTheKeyOrTheFile() throws {
        let root = try makeTemporaryDirectory()
        let mixture = "data: {mixture: {a: {corpus: A}, b: {corpus: B}}, skill_it: {graph: g.json"
        let cases: [(String, String)] = [
            ("data: {skill_it: {graph: g.json}}", "data.skill_it needs data.mixture"),
            ("data: {mixture: {a: {corpus: A}}, skill_it: {eta: 1}}", "data.skill_it.graph: required"),
            (mixture + ", eta: 0}}", "data.skill_it.eta must be > 0, got 0.0"),
            (mixture + ", every: 0}}", "data.skill_it.every must be ≥ 1, got 0"),
            (mixture + ", targets: [c]}}", "data.skill_it.targets: 'c' is not a source of data.mixture (sources: a, b)"),
            (mixture + ", rounds: 2}}", "unknown key 'data.skill_it.rounds'"),
            ("data: {mixture: {a: {corpus: A}, b: {corpus: B}}, phases: [{weights: {a: 1}}], skill_it: {graph: g.json}}",
             "data.skill_it sets the mixture weights itself: remove data.phases"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try Recipe.parse(yaml, source: "r.yaml").validate(source: "r.yaml"), yaml) {
                XCTAssertTrue("\($0)".contains(expected), "\(yaml): \($0)")
                XCTAssertFalse("\($0)".contains("\n"), "\(yaml): \($0)")
            }
        }
        let missing = root.appendingPathComponent("none.json")
        XCTAssertThrowsError(try SkillsGraph.load(missing)) {
            XCTAssertTrue("\($0)".hasPrefix("\(missing.path): cannot read a skills graph of `pretrain skills graph`: no such file or directory"), "\($0)")
        }
        let ragged = root.appendingPathComponent("ragged.json")
        try Data(#"{"skills": ["a", "b"], "matrix": [[1, 2], [3]], "steps": 1, "lossesBefore": [1, 1]}"#.utf8).write(to: ragged)
        XCTAssertThrowsError(try SkillsGraph.load(ragged)) {
            XCTAssertEqual("\($0)", "\(ragged.path): the skills graph must list distinct skills and an n × n matrix of finite numbers")
        }
        let garbage = root.appendingPathComponent("garbage.json")
        try Data("not json".utf8).write(to: garbage)
        XCTAssertThrowsError(try SkillsGraph.load(garbage)) {
            XCTAssertTrue("\($0)".hasPrefix("\(garbage.path): not a skills graph"), "\($0)")
        }
        // A graph over other skills than the run's sources is refused when the run starts, naming the file.
        let other = root.appendingPathComponent("other.json")
        try graph([[1, 0], [0, 1]], skills: ["a", "z"]).write(to: other)
        XCTAssertThrowsError(try Trainer(recipe: skillItRecipe(steps: 3, graph: other), runDirectory: root.appendingPathComponent("run"),
                                         corpus: MixtureTests.mixtureCorpus(), console: silent)) {
            XCTAssertTrue("\($0)".hasPrefix("\(other.path): the graph's skills (a, z) are not the sources"), "\($0)")
        }
    }
}
