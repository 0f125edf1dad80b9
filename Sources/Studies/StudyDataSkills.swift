import Foundation
import TextData
import Training

extension StudyData {
    /// Question 2: Skill-it vs the uniform and the natural mixture over four sources, at equal steps.
    func skillIt(_ results: inout StudyDataResults, console: ConsoleProgress, train: StudyTrain) throws {
        // One tokenizer, trained on every tenth document of each source; each source then prepared with it (5 % val).
        let texts = out.appendingPathComponent("corpora/skills-text")
        var sample: [String] = []
        for (name, path) in Self.skillSources {
            let documents = try readSource(path).map(\.text)
            try writeDocuments(documents, to: texts.appendingPathComponent("\(name).jsonl"))
            sample += documents.enumerated().filter { $0.offset % 10 == 0 }.map(\.element)
        }
        try writeDocuments(sample, to: texts.appendingPathComponent("tokenizer-sample/sample.jsonl"))
        try prepare("skills-tokenizer", [texts.appendingPathComponent("tokenizer-sample/sample.jsonl")], split: .fraction(0.05),
                    tokenizer: .train(vocabularySize: size.vocabulary, minFrequency: 2, specialTokens: ["<|endoftext|>"]), console: console)
        let tokenizer = corpus("skills-tokenizer").appendingPathComponent("tokenizer.json")
        var trainTokens: [String: Int] = [:]
        for (name, _) in Self.skillSources {
            try prepare("skill-\(name)", [texts.appendingPathComponent("\(name).jsonl")], split: .fraction(0.05), tokenizer: .file(tokenizer),
                        console: console)
            trainTokens[name] = try PreparedCorpus(directory: corpus("skill-\(name)")).manifest.trainTokens
        }
        let skills = Self.skillSources.map(\.0).sorted()
        results.skills = skills
        func mixture(_ weights: [String: Double], seed: Int) -> Recipe {
            var recipe = gpt(corpus: corpus("skill-\(skills[0])"), steps: size.mixtureSteps, seed: seed)
            recipe.data.mixture = Dictionary(uniqueKeysWithValues: skills.map {
                ($0, MixtureSourceSection(corpus: corpus("skill-\($0)").path, weight: weights[$0]!))
            })
            return recipe
        }
        let uniform = Dictionary(uniqueKeysWithValues: skills.map { ($0, 1.0) })

        // The skills graph: graphSteps on each source alone, from the same initialisation (seed 1).
        let graphDirectory = out.appendingPathComponent("skills-graph")
        let graphFile = graphDirectory.appendingPathComponent("graph.json")
        var graphRecipe = mixture(uniform, seed: 1)
        graphRecipe.train.steps = size.graphSteps
        let graph: SkillsGraph
        if reuse, let stored = try? SkillsGraph.load(graphFile), stored.skills == skills, stored.steps == size.graphSteps {
            graph = stored
        } else {
            console.message("── skills graph: \(size.graphSteps) steps on each of \(skills.joined(separator: ", "))")
            graph = try SkillsGraph.estimate(recipe: graphRecipe, steps: size.graphSteps, out: graphDirectory, console: console)
        }
        results.graph = graph

        func record(_ arm: String, seed: Int, _ run: StudyRunner.FinishedRun) {
            let last = run.records.last { $0.valLoss != nil }
            let losses = Dictionary(uniqueKeysWithValues: skills.map { ($0, last?.namedValidationLosses[$0] ?? .nan) })
            results.mixtures.append(.init(arm: arm, seed: seed, run: run.directory.lastPathComponent, losses: losses,
                                          meanLoss: skills.map { losses[$0]! }.reduce(0, +) / Double(skills.count),
                                          tokens: run.records.last?.sourceTokens ?? [:]))
        }
        for seed in 1...size.seeds {
            record("uniform", seed: seed, try train("mixture-uniform-s\(seed)", "uniform mixture, seed \(seed)", mixture(uniform, seed: seed), .fresh))
            var skillIt = mixture(uniform, seed: seed)
            var section = SkillItSection()
            (section.graph, section.every, section.window, section.eta, section.evalBatches) = (graphFile.path, size.skillEvery, 3, 0.1, 4)
            skillIt.data.skillIt = section
            record("Skill-it", seed: seed, try train("mixture-skillit-s\(seed)", "Skill-it mixture, seed \(seed)", skillIt, .fresh))
        }
        let natural = Dictionary(uniqueKeysWithValues: skills.map { ($0, Double(trainTokens[$0]!)) })
        record("natural (by size)", seed: 1, try train("mixture-natural-s1", "natural mixture, seed 1", mixture(natural, seed: 1), .fresh))
    }
}
