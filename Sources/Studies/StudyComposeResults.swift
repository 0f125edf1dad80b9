import Foundation

/// One model or composition of the composition study, for one seed of the small models: val bits per byte on each domain.
public struct ComposeRow: Codable, Equatable, SeededRow {
    /// "up-scaling", "residual" or "merging".
    public var part: String
    public var arm: String
    public var seed: Int
    public var bitsPerByte: [String: Double]
}

/// Everything the composition study measured (OUT/results.json).
public struct StudyComposeResults: Codable {
    public var size: String
    public var command: String
    public var machine = ""
    /// Wall time of this invocation, and of every run's training (reused runs as they ran then).
    public var minutes = 0.0
    public var trainingMinutes = 0.0
    public var reusedRuns = 0
    public var rows: [ComposeRow] = []

    public init(size: String, command: String) { (self.size, self.command) = (size, command) }

    func arm(_ part: String, _ arm: String) -> [ComposeRow] { rows.filter { $0.part == part && $0.arm == arm } }
    /// The arms of a part in the order they were first measured.
    func arms(_ part: String) -> [String] {
        rows.filter { $0.part == part }.map(\.arm).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    }
}

/// The composition study's outputs: OUT/results.json, its section of the results file, the claims.
public enum StudyComposeReport {
    public static let heading = "## Composing models without training: up-scaling, residual transfer, merging"

    public static func write(_ results: StudyComposeResults, out: URL, resultsFile: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(results).write(to: out.appendingPathComponent("results.json"), options: .atomic)
        let existing = (try? String(contentsOf: resultsFile, encoding: .utf8)) ?? ""
        let document = StudyCPTReport.replacingSection(in: existing, with: section(results), heading: heading)
        try FileManager.default.createDirectory(at: resultsFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        try document.write(to: resultsFile, atomically: true, encoding: .utf8)
    }

    static func value(_ domain: String) -> (ComposeRow) -> Double { { $0.bitsPerByte[domain] ?? .nan } }
    static func mean(_ rows: [ComposeRow], _ domain: String) -> Double { meanAndDeviation(rows.map(value(domain))).mean }

    /// Each paper's claim, judged seed by seed where the arms have seeds.
    public static func claims(_ results: StudyComposeResults) -> [StudyClaim] {
        var claims: [StudyClaim] = []
        let upScaled = results.arm("up-scaling", StudyCompose.upScaled(1)), largeBase = results.arm("up-scaling", StudyCompose.upScaled(0))
        let smallTuned = results.arm("up-scaling", "small tuned"), largeTuned = results.arm("up-scaling", "large tuned (real fine-tuning)")
        let folio = value("folio"), original = value("original")
        let beatsSmall = paired(upScaled, smallTuned, folio)
        claims.append(StudyClaim(statement: "EFT up-scaling (large base + (small tuned − small base)) beats the small tuned model on the Folio",
                                 holds: beatsSmall.holds, evidence: "\(spread(upScaled.map(folio))) vs \(spread(smallTuned.map(folio))) bits/byte; \(beatsSmall.evidence)"))
        let beatsLarge = paired(upScaled, largeBase, folio)
        let gain = (mean(largeBase, "folio") - mean(upScaled, "folio")) / (mean(largeBase, "folio") - mean(largeTuned, "folio"))
        claims.append(StudyClaim(statement: "the small models' difference moves the large base toward the Folio (up-scaled below the large base there)",
                                 holds: beatsLarge.holds,
                                 evidence: "\(beatsLarge.evidence); it recovers \(String(format: "%.0f", 100 * gain)) % of the large model's own tuning gain"))
        let cost = paired(upScaled, smallTuned, original)
        claims.append(StudyClaim(statement: "on the original domain the up-scaled model stays better than the small tuned one (what up-scaling costs there is smaller)",
                                 holds: cost.holds,
                                 evidence: "\(spread(upScaled.map(original))) vs \(spread(smallTuned.map(original))); large base \(spread(largeBase.map(original))); \(cost.evidence)"))
        let betas = results.arms("up-scaling").filter { $0.hasPrefix("large base") }
        let sweep = betas.map { (mean(results.arm("up-scaling", $0), "folio"), mean(results.arm("up-scaling", $0), "original")) }
        let traded = zip(sweep, sweep.dropFirst()).allSatisfy { $1.0 <= $0.0 && $1.1 >= $0.1 }
        claims.append(StudyClaim(statement: "β trades the domains without training: Folio bits/byte fall and original bits/byte rise as β grows",
                                 holds: traded && sweep.count > 1,
                                 evidence: sweep.map { String(format: "%.4f/%.4f", $0.0, $0.1) }.joined(separator: " → ") + " (Folio/original, means)"))

        let residual = results.arm("residual", "+ the Folio residual (tuned − base)")
        let retuned = results.arm("residual", "continued base, re-tuned on the Folio")
        let continuedTuned = results.arm("residual", "tuned, continued on the histories")
        let continuedBase = results.arm("residual", "base continued on the histories")
        let overTuned = paired(residual, continuedTuned, folio)
        claims.append(StudyClaim(statement: "residual transfer (continued base + tuned − base) beats continuing the tuned model on the Folio",
                                 holds: overTuned.holds, evidence: "\(spread(residual.map(folio))) vs \(spread(continuedTuned.map(folio))); \(overTuned.evidence)"))
        let gap = mean(residual, "folio") / mean(retuned, "folio") - 1
        claims.append(StudyClaim(statement: "residual transfer comes within 2 % of re-tuning the continued base on the Folio (no training)",
                                 holds: gap <= 0.02, evidence: String(format: "%+.1f %% (%@ vs %@)", 100 * gap, spread(residual.map(folio)), spread(retuned.map(folio)))))
        let keeps = mean(residual, "histories") / mean(continuedBase, "histories") - 1
        claims.append(StudyClaim(statement: "the residual keeps the new data: on the histories within 2 % of the continued base",
                                 holds: keeps <= 0.02, evidence: String(format: "%+.1f %% (%@ vs %@)", 100 * keeps, spread(residual.map(value("histories"))),
                                                                     spread(continuedBase.map(value("histories"))))))

        let children = [results.arm("merging", "Folio child"), results.arm("merging", "histories child")]
        let both = { (row: ComposeRow) in ((row.bitsPerByte["folio"] ?? .nan) + (row.bitsPerByte["histories"] ?? .nan)) / 2 }
        for method in results.arms("merging").filter({ !$0.hasSuffix("child") }) {
            let merged = results.arm("merging", method)
            let vsFolio = paired(merged, children[0], both), vsHistories = paired(merged, children[1], both)
            claims.append(StudyClaim(statement: "merging (\(method)) beats both children on the mean of the Folio and the histories",
                                     holds: vsFolio.holds && vsHistories.holds,
                                     evidence: "\(spread(merged.map(both))) vs \(spread(children[0].map(both))) (Folio child), "
                                        + "\(spread(children[1].map(both))) (histories child)"))
        }
        return claims
    }

    static func section(_ results: StudyComposeResults) -> String {
        var text = heading + "\n\n"
        if results.size == StudyComposeSize.quick.name {
            text += "**Quick run** (`--quick`: the tiny CI size, not the study's default size; numbers are noisy).\n\n"
        }
        text += "Made by `\(results.command)` on \(results.machine). Its runs trained for "
            + String(format: "%.1f", results.trainingMinutes) + " minutes"
            + (results.reusedRuns > 0 ? " (\(results.reusedRuns) of them reused from an earlier invocation, counted as they ran then)" : "")
            + "; this invocation took " + String(format: "%.1f", results.minutes) + " minutes in all (merging and scoring included).\n\n"
        text += "Val bits per byte (lower is better) on three domains sharing one tokenizer: the modern plays without the histories "
            + "(*original*: hamlet and tempest), the same plays in First Folio spelling (*Folio*, the domain the \"tuned\" models "
            + "continued on, standing in for instruction tuning) and the modern history plays (*histories*, new data: richard_iii). "
            + "Small models over seeds (mean ± sd); the large ones are one run.\n"
        for (part, title) in [("up-scaling", "Up-scaling and the β sweep"), ("residual", "Residual transfer"), ("merging", "Merging two children of one parent")] {
            text += "\n### \(title)\n\n"
            if part == "merging" {
                text += "Task arithmetic at λ = 1 over these two children is base + (Folio − base) + (histories − base), the same "
                    + "weights as the residual transfer above (histories child + Folio residual): its row repeats that one.\n\n"
            }
            text += "| model | original | Folio | histories |\n|---|---|---|---|\n"
            for arm in results.arms(part) {
                let rows = results.arm(part, arm)
                text += "| \(arm) | " + StudyCompose.domains.map { spread(rows.map(value($0))) }.joined(separator: " | ") + " |\n"
            }
        }
        text += "\n### Claims\n\n" + claims(results).map(\.markdown).joined(separator: "\n") + "\n"
        return text
    }
}
