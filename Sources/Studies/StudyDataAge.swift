import Foundation
import TextData
import Training

extension StudyData {
    /// Question 3: a model of each spelling era on both eras' held-out plays, then continued into the other era.
    func dataAge(_ results: inout StudyDataResults, console: ConsoleProgress, train: StudyTrain) throws {
        let plays = StudyCorpora.plays
        try prepare("age-modern", try plays(text), split: .files(Self.valPlays),
                    tokenizer: .train(vocabularySize: size.vocabulary, minFrequency: 2, specialTokens: ["<|endoftext|>"]), console: console)
        try prepare("age-folio", try plays(folioText), split: .files(Self.valPlays),
                    tokenizer: .file(corpus("age-modern").appendingPathComponent("tokenizer.json")), console: console)
        func era(_ name: String, steps: Int, seed: Int = 1) -> Recipe {
            var recipe = gpt(corpus: corpus("age-\(name)"), steps: steps, seed: seed)
            let other = name == "modern" ? "folio" : "modern"
            recipe.data.val = [other: corpus("age-\(other)").path]
            return recipe
        }
        func row(_ arm: String, trainedOn era: String, _ run: StudyRunner.FinishedRun) {
            let last = run.records.last { $0.valLoss != nil }
            let own = last?.valLoss ?? .nan, other = last?.namedValidationLosses[era == "modern" ? "folio" : "modern"] ?? .nan
            results.age.append(.init(arm: arm, run: run.directory.lastPathComponent,
                                     modern: era == "modern" ? own : other, folio: era == "modern" ? other : own))
        }
        let modern = try train("age-modern", "modern spelling", era("modern", steps: size.ageSteps), .fresh)
        row("modern spelling", trainedOn: "modern", modern)
        let folio = try train("age-folio", "First Folio spelling", era("folio", steps: size.ageSteps), .fresh)
        row("First Folio spelling", trainedOn: "folio", folio)
        // A little continued pre-training into the other era, rewarmed to a quarter of the peak.
        for (from, into, run) in [("modern", "folio", modern), ("folio", "modern", folio)] {
            var recipe = era(into, steps: size.continuedSteps)
            (recipe.optim.lr, recipe.schedule.minLR) = (size.lr / 4, size.minLR / 4)
            let continued = try train("age-\(from)-then-\(into)", "\(from), then \(size.continuedSteps) steps of \(into)", recipe,
                                      .initFrom(run.directory))
            row("\(from), then \(size.continuedSteps) steps of \(into)", trainedOn: into, continued)
        }
    }
}
