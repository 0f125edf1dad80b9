import Foundation
import Training

/// The data study's section of docs/RESULTS.md: its tables, the skills graph and the claims judged on the numbers.
public enum StudyDataReport {
    public static let heading = "## Data-centric pre-training: conditional training, Skill-it and data age"

    public static func write(_ results: StudyDataResults, out: URL, resultsFile: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(results).write(to: out.appendingPathComponent("results.json"), options: .atomic)
        let directory = resultsFile.deletingLastPathComponent()
        var figures: [String] = []
        if let graph = results.graph {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("results"), withIntermediateDirectories: true)
            try graph.svg().write(to: directory.appendingPathComponent("results/data-skills-graph.svg"), atomically: true, encoding: .utf8)
            figures.append("results/data-skills-graph.svg")
        }
        let existing = (try? String(contentsOf: resultsFile, encoding: .utf8)) ?? ""
        let document = StudyCPTReport.replacingSection(in: existing, with: section(results, figures: figures), heading: heading)
        try document.write(to: resultsFile, atomically: true, encoding: .utf8)
    }

    static func percent(_ values: [Double]) -> String {
        let (mean, deviation) = meanAndDeviation(values.map { 100 * $0 })
        return deviation > 0 ? String(format: "%.1f ± %.1f %%", mean, deviation) : String(format: "%.1f %%", mean)
    }

    public static func claims(_ results: StudyDataResults) -> [StudyClaim] {
        var claims: [StudyClaim] = []
        let mle = results.conditional("mle"), conditional = results.conditional("conditional"), filtering = results.conditional("filtering")
        // The conditional model under <|good|> against MLE's (unconditioned) samples, seed by seed.
        let underGood = conditional.map { row -> StudyDataResults.ConditionalRow in
            var row = row
            row.offensiveRate = row.offensiveRateGood ?? .nan
            return row
        }
        let good = paired(underGood, mle) { $0.offensiveRate }
        claims.append(StudyClaim(statement: "conditional training under <|good|> lowers the offensive-generation rate below MLE's",
                            holds: good.holds,
                            evidence: "under <|good|> \(percent(conditional.compactMap(\.offensiveRateGood))) vs MLE \(percent(mle.map(\.offensiveRate))); \(good.evidence)"))
        let (mleLoss, conditionalLoss) = (meanAndDeviation(mle.map(\.cleanLoss)).mean, meanAndDeviation(conditional.map(\.cleanLoss)).mean)
        claims.append(StudyClaim(statement: "conditional training costs at most 2 % of MLE's loss on clean text",
                            holds: conditionalLoss <= 1.02 * mleLoss,
                            evidence: String(format: "conditional %@ vs MLE %@ (%+.2f %%)", spread(conditional.map(\.cleanLoss)),
                                             spread(mle.map(\.cleanLoss)), 100 * (conditionalLoss - mleLoss) / mleLoss)))
        let filtered = paired(filtering, mle) { $0.offensiveRate }
        claims.append(StudyClaim(statement: "filtering the offensive fortunes out lowers the offensive-generation rate below MLE's",
                            holds: filtered.holds,
                            evidence: "filtering \(percent(filtering.map(\.offensiveRate))) vs MLE \(percent(mle.map(\.offensiveRate))); \(filtered.evidence)"))
        let uniform = results.mixture("uniform"), skillIt = results.mixture("Skill-it")
        let mixtures = paired(skillIt, uniform) { $0.meanLoss }
        claims.append(StudyClaim(statement: "Skill-it's online mixture reaches a lower mean val loss over the skills than the uniform mixture at equal steps",
                            holds: mixtures.holds,
                            evidence: "Skill-it \(spread(skillIt.map(\.meanLoss))) vs uniform \(spread(uniform.map(\.meanLoss))); \(mixtures.evidence)"))
        let raw = results.curation.filter { $0.arm == "raw" }, curated = results.curation.filter { $0.arm == "curated" }
        let curatedPaired = paired(curated, raw) { $0.cleanLoss }
        claims.append(StudyClaim(statement: "a model on curated text beats one on raw text at equal steps on clean held-out text",
                            holds: curatedPaired.holds,
                            evidence: "curated \(spread(curated.map(\.cleanLoss))) vs raw \(spread(raw.map(\.cleanLoss))); \(curatedPaired.evidence)"))
        if let folio = results.age.first(where: { $0.arm == "First Folio spelling" }),
           let continued = results.age.first(where: { $0.arm.hasPrefix("modern, then") }) {
            claims.append(StudyClaim(statement: "a little continued pre-training does not close the era gap (the modern model continued on the Folio stays above the Folio model on Folio text)",
                                holds: continued.folio > folio.folio,
                                evidence: String(format: "Folio val loss: %@ %.4f vs Folio model %.4f", continued.arm, continued.folio, folio.folio)))
        }
        return claims
    }

    static func section(_ results: StudyDataResults, figures: [String]) -> String {
        var text = heading + "\n\n"
        if results.size == StudyDataSize.quick.name {
            text += "*The quick (CI) size: tiny models and made-up sources. These numbers test the pipeline, not the papers.*\n\n"
        }
        text += "Made by `\(results.command)`: its runs took \(String(format: "%.1f", results.minutes)) minutes"
            + (results.reusedRuns > 0 ? " (\(results.reusedRuns) of them reused)" : "") + "; \(results.machine). "
            + "Sources from `make sources` (docs/DATA_SOURCES.md). Val loss is nats per token; mean ± sample standard deviation over the seeds.\n\n"

        text += "### Conditional training vs MLE vs filtering (Italian and Spanish fortunes)\n\n"
        text += String(format: "%.1f %% of the training fortunes come from the offensive packages. ", 100 * results.offensiveShare)
        text += "The judge is our n-gram classifier trained on the training fortunes' package labels; on the held-out fortunes it is right on "
            + results.judgeAccuracy.sorted { $0.key < $1.key }.map { String(format: "%.1f %% of the %d %@", 100 * $0.value, results.judgeHeldOut[$0.key] ?? 0, $0.key) }
                .joined(separator: " and ") + " ones. A sample is offensive when the judge's P(offensive) > 0.5. "
            + "Conditional training tags each training fortune by its package (not by the judge); samples under <|good|> ban <|bad|>. "
            + "Clean loss: mean next-token loss over the text tokens of the held-out non-offensive fortunes, each read after "
            + "<|endoftext|> (and <|good|> for the conditional model, whose own prediction is not scored), up to a context each. "
            + "`classifier-T` arms keep the fortunes whose P(offensive) under a second classifier (trained on half of the training "
            + "fortunes, so not the judge) is below T/100: the toxicity filter's trade-off, one seed each.\n\n"
        text += "| arm | seeds | training fortunes | clean loss | offensive samples, unconditioned | under <\\|good\\|> |\n|---|---|---|---|---|---|\n"
        for arm in ["mle", "conditional", "filtering"] + StudyData.filterThresholds.map({ "classifier-\(Int($0 * 100))" }) {
            let rows = results.conditional(arm)
            guard !rows.isEmpty else { continue }
            text += "| \(arm) | \(rows.map { String($0.seed) }.joined(separator: ", ")) | \(rows[0].keptDocuments) | \(spread(rows.map(\.cleanLoss))) | "
                + "\(percent(rows.map(\.offensiveRate))) | \(rows.compactMap(\.offensiveRateGood).isEmpty ? "–" : percent(rows.compactMap(\.offensiveRateGood))) |\n"
        }

        text += "\n### Skill-it vs the uniform and the natural mixture\n\n"
        if let graph = results.graph {
            text += "The skills graph (A[i][j]: drop of skill j's val loss after \(graph.steps) steps on skill i alone):\n\n"
            text += "| trained on | " + graph.skills.joined(separator: " | ") + " |\n|---|" + String(repeating: "---|", count: graph.skills.count) + "\n"
            for (name, row) in zip(graph.skills, graph.matrix) {
                text += "| \(name) | " + row.map { String(format: "%+.3f", $0) }.joined(separator: " | ") + " |\n"
            }
            text += "\n"
        }
        text += "| arm | seeds | " + results.skills.joined(separator: " | ") + " | mean | tokens drawn (seed 1) |\n|---|---|"
            + String(repeating: "---|", count: results.skills.count + 2) + "\n"
        for arm in ["uniform", "natural (by size)", "Skill-it"] {
            let rows = results.mixture(arm)
            guard let first = rows.first else { continue }
            let total = Double(first.tokens.values.reduce(0, +))
            text += "| \(arm) | \(rows.map { String($0.seed) }.joined(separator: ", ")) | "
                + results.skills.map { skill in spread(rows.map { $0.losses[skill] ?? .nan }) }.joined(separator: " | ")
                + " | \(spread(rows.map(\.meanLoss))) | "
                + results.skills.map { String(format: "%.0f %%", 100 * Double(first.tokens[$0] ?? 0) / max(1, total)) }.joined(separator: " / ") + " |\n"
        }
        text += "\nSkill-it: η 0.1, a round every \(results.size == StudyDataSize.quick.name ? StudyDataSize.quick.skillEvery : StudyDataSize.standard.skillEvery) steps, "
            + "a window of 3 rounds, each skill's loss on 4 val micro-batches per round; η was set before the runs, not tuned.\n\n"

        text += "### Data age: modern spelling vs the First Folio\n\n| arm | val loss, modern plays | val loss, Folio plays |\n|---|---|---|\n"
        for row in results.age { text += String(format: "| %@ | %.4f | %.4f |\n", row.arm, row.modern, row.folio) }
        text += "\nBoth eras' val splits are the same plays (\(StudyData.valPlays.joined(separator: ", "))); one tokenizer (trained on the modern plays) for both.\n\n"

        text += "### Curation: the funnel of the four sources, and curated vs raw text\n\n"
        text += "| source | input | " + results.funnelSteps.joined(separator: " | ") + " |\n|---|---|" + String(repeating: "---|", count: results.funnelSteps.count) + "\n"
        for row in results.funnel {
            text += "| \(row.source) | \(row.input) | " + row.kept.map(String.init).joined(separator: " | ") + " |\n"
        }
        text += "\nDocuments left after each step (the pipeline is `StudyData.curationPipeline`); near_dedup found \(results.nearDuplicateClusters) clusters. "
            + "The most frequent reasons a source's documents were dropped: "
            + results.funnel.map { row in
                "\(row.source) " + row.dropped.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(3)
                    .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            }.joined(separator: "; ") + " (a document fails at the first rule it breaks).\n\n"
        text += "| trained on | seeds | training documents | training tokens | val loss on held-out curated text |\n|---|---|---|---|---|\n"
        for arm in ["raw", "curated"] {
            let rows = results.curation.filter { $0.arm == arm }
            guard let first = rows.first else { continue }
            text += "| \(arm) | \(rows.map { String($0.seed) }.joined(separator: ", ")) | \(first.documents) | \(first.trainTokens) | \(spread(rows.map(\.cleanLoss))) |\n"
        }
        text += "\nBoth arms train the same steps (equal tokens seen; the smaller curated set is repeated more); the held-out documents "
            + "are a tenth of the curated ones by a hash of the text, left out of both (a raw near-duplicate of one may remain).\n\n"

        text += "### Claims\n\n"
        for claim in claims(results) { text += claim.markdown + "\n" }
        text += "\n" + figures.map { "![](\($0))" }.joined(separator: "\n") + "\n"
        return text
    }
}
