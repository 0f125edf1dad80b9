import FileErrors
import Foundation

/// Skill-it's skills graph (Chen et al. 2023, §3 and Algorithm 2, the brute-force estimate): A_ij is how much
/// training on skill i alone for a few steps lowers skill j's val loss, L_j(before) − L_j(after). The skills are a
/// mixture's sources; rows and columns follow `skills`. A negative entry means training on i hurt j.
public struct SkillsGraph: Codable, Equatable {
    public var skills: [String]
    /// matrix[i][j] = A_ij.
    public var matrix: [[Double]]
    /// Steps each skill was trained for, and each skill's val loss before any of them.
    public var steps: Int
    public var lossesBefore: [Double]

    public init(skills: [String], matrix: [[Double]], steps: Int, lossesBefore: [Double]) {
        (self.skills, self.matrix, self.steps, self.lossesBefore) = (skills, matrix, steps, lossesBefore)
    }

    /// Reads a graph file; a missing, malformed or non-square one is an error naming the file.
    public static func load(_ url: URL) throws -> SkillsGraph {
        let graph = try JSONFile.decode(SkillsGraph.self, from: url, expected: "a skills graph of `pretrain skills graph`")
        let n = graph.skills.count
        guard n > 0, Set(graph.skills).count == n, graph.matrix.count == n, graph.matrix.allSatisfy({ $0.count == n }),
              graph.matrix.allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
            throw TrainingError("\(url.path): the skills graph must list distinct skills and an n × n matrix of finite numbers")
        }
        return graph
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeFileAtomically(try encoder.encode(self), to: url)
    }

    /// The matrix as a heat map (rows: trained skill, columns: evaluated skill), values printed in the cells.
    public func svg() -> String {
        let cell = 64, margin = 110, n = skills.count
        let size = margin + n * cell + 20
        let largest = max(1e-12, matrix.flatMap { $0.map(abs) }.max() ?? 0)
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(size)\" height=\"\(size)\" font-family=\"sans-serif\" font-size=\"11\">\n"
        svg += "<text x=\"4\" y=\"14\">A[i][j]: val loss drop of j after \(steps) steps on i</text>\n"
        for (j, name) in skills.enumerated() {
            svg += "<text x=\"\(margin + j * cell + cell / 2)\" y=\"\(margin - 8)\" text-anchor=\"middle\">\(escape(name))</text>\n"
            svg += "<text x=\"\(margin - 6)\" y=\"\(margin + j * cell + cell / 2 + 4)\" text-anchor=\"end\">\(escape(name))</text>\n"
        }
        for i in 0..<n {
            for j in 0..<n {
                let value = matrix[i][j], strength = Int(200 * min(1, abs(value) / largest))
                // Blue for a loss drop (help), red for a rise (interference).
                let colour = value >= 0 ? "rgb(\(255 - strength),\(255 - strength / 2),255)" : "rgb(255,\(255 - strength),\(255 - strength))"
                svg += "<rect x=\"\(margin + j * cell)\" y=\"\(margin + i * cell)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"\(colour)\" stroke=\"#888\"/>\n"
                svg += "<text x=\"\(margin + j * cell + cell / 2)\" y=\"\(margin + i * cell + cell / 2 + 4)\" text-anchor=\"middle\">"
                    + String(format: "%.3f", value) + "</text>\n"
            }
        }
        return svg + "</svg>\n"
    }
}

extension SkillsGraph {
    /// Estimates the graph of `recipe`'s mixture: for each source, a run of `steps` steps on that source alone (from
    /// `start`: the recipe's initialisation or a checkpoint) in OUT/skill-<name>, then every source's whole val split
    /// evaluated before and after. Writes OUT/graph.json and OUT/graph.svg.
    /// `corpus`: the recipe's data already loaded (default: `TrainingCorpus.load(recipe.data)`).
    public static func estimate(recipe: Recipe, steps: Int, start: TrainingStart = .fresh, out: URL, corpus: TrainingCorpus? = nil,
                                console: ConsoleProgress = ConsoleProgress()) throws -> SkillsGraph {
        guard steps >= 1 else { throw TrainingError("the skills graph needs ≥ 1 training step per skill, got \(steps)") }
        var base = recipe
        base.data.skillIt = nil
        base.data.phases = []
        guard base.data.replay == nil else {
            throw TrainingError("the skills graph is estimated over data.mixture's sources; remove data.replay (make it a source)")
        }
        let skills = base.data.mixture.keys.sorted()
        guard skills.count >= 2 else {
            throw TrainingError("the skills graph needs a data.mixture of ≥ 2 sources (the skills), got \(skills.count)")
        }
        (base.train.steps, base.train.evalEvery, base.train.checkpointEvery, base.train.keepLast) = (steps, 0, steps, 1)
        let corpus = try corpus ?? TrainingCorpus.load(base.data)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var before: [Double] = [], matrix: [[Double]] = []
        for (index, skill) in skills.enumerated() {
            var single = base
            for name in skills { single.data.mixture[name]!.weight = name == skill ? 1 : 0 }
            console.message("── skill \(index + 1)/\(skills.count): \(steps) steps on \(skill)")
            let trainer = try Trainer(recipe: single, runDirectory: out.appendingPathComponent("skill-\(skill)"), corpus: corpus,
                                      start: start, overwrite: true, console: console)
            if index == 0 { before = losses(trainer, skills) }
            try trainer.run()
            let after = losses(trainer, skills)
            matrix.append(zip(before, after).map { $0 - $1 })
        }
        let graph = SkillsGraph(skills: skills, matrix: matrix, steps: steps, lossesBefore: before)
        try graph.write(to: out.appendingPathComponent("graph.json"))
        try writeFileAtomically(Data(graph.svg().utf8), to: out.appendingPathComponent("graph.svg"))
        return graph
    }

    /// Each skill's loss on its whole val split, in `skills` order.
    private static func losses(_ trainer: Trainer, _ skills: [String]) -> [Double] {
        var record = MetricsRecord(step: trainer.state.step)
        _ = trainer.task.evaluate(full: true, into: &record)
        return skills.map { record.namedValidationLosses[$0] ?? .nan }
    }
}
