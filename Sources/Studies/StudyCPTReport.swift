import Foundation
import Training

/// The study's outputs: OUT/results.json, and its section of a Markdown results file with the figures beside it.
public enum StudyCPTReport {
    public static let heading = "## Continual pre-training"
    /// The heading results files written before carry; a rerun replaces that section too.
    static let earlierHeading = "## Continual pre-training (issue 5)"

    /// Writes `out`/results.json, the figures into results/ beside `resultsFile`, and the section into
    /// `resultsFile` (created when missing; other sections are kept).
    public static func write(_ results: StudyCPTResults, out: URL, resultsFile: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(results).write(to: out.appendingPathComponent("results.json"), options: .atomic)
        let directory = resultsFile.deletingLastPathComponent()
        let plots = try StudyCPTFigures.write(results, into: directory.appendingPathComponent("results"))
        let linked = plots.map { ($0.group, $0.files.map { "results/" + $0 }) }
        let existing = (try? String(contentsOf: resultsFile, encoding: .utf8)) ?? ""
        let document = replacingSection(in: existing, with: section(results, plots: linked))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try document.write(to: resultsFile, atomically: true, encoding: .utf8)
    }

    /// `document` with the study's section replaced (up to the next level-2 heading), or appended when absent.
    /// Other sections are left byte for byte.
    public static func replacingSection(in document: String, with section: String, heading: String = StudyCPTReport.heading) -> String {
        let headings = heading == Self.heading ? [heading, earlierHeading] : [heading]
        var lines = document.components(separatedBy: "\n")
        let body = section.hasSuffix("\n") ? String(section.dropLast()) : section
        if let start = lines.firstIndex(where: { headings.contains($0.trimmingCharacters(in: .whitespaces)) }) {
            let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("## ") } ?? lines.count
            let following = end < lines.count ? [""] : []
            lines.replaceSubrange(start..<end, with: body.components(separatedBy: "\n") + following)
            return lines.joined(separator: "\n")
        }
        var text = document.isEmpty ? "# Results\n\nMeasured numbers of the studies in this repository, each section written by the command it names.\n" : document
        if !text.hasSuffix("\n") { text += "\n" }
        return text + "\n" + body + "\n"
    }

    /// The Markdown section: how it was made, the table, the claims, the backtest and the figures (`plots`: the
    /// figures' paths relative to the results file, per group).
    public static func section(_ results: StudyCPTResults, plots: [(group: StudyCPTGroup, files: [String])]) -> String {
        var text = heading + "\n\n"
        if results.size == StudyCPTSize.quick.name {
            text += "**Quick run** (`--quick`: the tiny CI size, not the study's default size; numbers are noisy).\n\n"
        }
        text += "- Command: `\(results.command)`" + (results.size == StudyCPTSize.standard.name
            ? " (what `make study-cpt` runs after preparing both corpora with one tokenizer)\n" : "\n")
        text += "- Machine: \(results.machine)\n"
        text += "- Date: \(results.date); the runs took \(ConsoleProgress.duration(results.runSeconds)) of wall time in all"
            + (results.reusedRuns > 0 ? " (\(results.reusedRuns) of them finished by an earlier invocation and reused).\n" : ".\n")
        text += "- Design: \(results.design)\n\n"
        let reference = results.reference
        text += String(format: "The upstream checkpoint: upstream val loss %.4f, downstream (First Folio) val loss %.4f. ",
                       reference.upstreamLoss, reference.downstreamLoss)
        text += "Forgetting = upstream val loss at the end of an arm − the checkpoint's; Δ downstream = its downstream "
            + "val loss − the checkpoint's (negative: learned). Gap depth: the highest downstream val loss after the "
            + "switch − its value at the switch (the stability gap, Guo et al. 2024), with the step of the peak and the "
            + "first step back at or below the switch value; upstream rise: the same for the upstream val loss. Final "
            + "values read the whole val splits; the curves, the gap and the rise read the same fixed windows at every "
            + "periodic evaluation (the last point of each figure is the whole-split one).\n\n"
        text += table(results)
        text += "\n### Claims (judged on the numbers above)\n\n"
        for claim in results.claims {
            text += "- \(claim.holds ? "**holds**" : "**does not hold**"): \(claim.statement) — \(claim.evidence).\n"
        }
        text += "\n### Learning-curve backtest\n\n"
        if let median = results.backtestMedianError {
            let met = median <= StudyCPTResults.backtestTarget
            text += String(format: "Fitting the first %.0f %% of each val-loss curve (`pretrain predict RUN --backtest`; the "
                + "arms with `--prior-run` the upstream run, whose finished decay gives the annealing bonus) and "
                + "predicting its final loss: median absolute relative error %.2f %% over %d curves (target ≤ %.0f %%: %@).\n",
                100 * StudyBacktester.fraction, 100 * median, results.backtestCount, 100 * StudyCPTResults.backtestTarget,
                met ? "met" : "not met")
            text += "docs/LEARNING_CURVES.md compares the fitted models arm by arm.\n"
        } else {
            text += "Not measured: no curve could be fitted (too few evaluations after the warmup within the first "
                + String(format: "%.0f %%), so the backtest column is empty.\n", 100 * StudyBacktester.fraction)
        }
        if let subset = results.arms.first(where: { $0.name == "subset" }),
           let onePass = results.arms.first(where: { $0.name == "rewarm_1x" }) {
            text += String(format: "\nThe multi-epoch subset ends at downstream %.4f and forgetting %+.4f against one pass over "
                + "the whole downstream split's %.4f and %+.4f (the same peak and schedule)%@.\n", subset.downstreamFinal,
                subset.forgetting, onePass.downstreamFinal, onePass.forgetting,
                subset.downstreamFinal > onePass.downstreamFinal && subset.gapDepth == 0 && onePass.gapDepth == 0
                    ? ": at this size repeating a subset does not pay, and no arm shows a downstream gap for it to narrow" : "")
        }
        text += "\n### Curves\n\n"
        for (group, files) in plots {
            text += "\(group.title): " + files.map { "![\($0)](\($0))" }.joined(separator: " ") + "\n\n"
        }
        return text
    }

    /// The table (a row for the upstream checkpoint, one per arm) and the notes on gaps and upstream transients.
    static func table(_ results: StudyCPTResults) -> String {
        let reference = results.reference
        var text = "| arm | downstream val | Δ downstream | upstream val | forgetting | gap depth (peak, recovered) | upstream rise | backtest: predicted / actual (error) |\n"
        text += "|---|---:|---:|---:|---:|---|---:|---|\n"
        text += "| \(escape("upstream pre-training")) | \(number(reference.downstreamLoss)) | — | \(number(reference.upstreamLoss)) | — | — | — | \(backtestCell(reference.backtest)) |\n"
        for arm in results.arms {
            let recovered = arm.gapRecoveryStep.map { "step \($0)" } ?? "not recovered"
            let gap = arm.gapDepth > 0 ? "\(number(arm.gapDepth)) (step \(arm.gapPeakStep), \(recovered))" : "0 (no rise)"
            text += "| \(escape(arm.label)) | \(number(arm.downstreamFinal)) | \(signed(arm.downstreamChange)) | "
                + "\(number(arm.upstreamFinal)) | \(signed(arm.forgetting)) | \(gap) | \(number(arm.upstreamRise)) | "
                + "\(backtestCell(arm.backtest)) |\n"
        }
        if results.arms.allSatisfy({ $0.gapDepth == 0 }) {
            text += "\nNo arm's downstream val loss rose above its value at the switch at this evaluation spacing (the "
                + "first evaluation after the switch is already lower).\n"
        }
        // A transient on the upstream side: the loss rose further than where it ended (a partial recovery).
        let recovering = results.arms.filter { $0.upstreamRise - $0.upstreamRiseAtEnd > 0.02 }
        if !recovering.isEmpty {
            text += "\nUpstream, the loss rose further after the switch than where it ended (a partial recovery, on the "
                + "periodic evaluations) in: " + recovering.map {
                    String(format: "%@ (rise %.4f, at the end %+.4f)", $0.label, $0.upstreamRise, $0.upstreamRiseAtEnd)
                }.joined(separator: "; ") + ".\n"
        }
        return text
    }

    static func backtestCell(_ backtest: StudyBacktest?) -> String {
        guard let backtest else { return "—" }
        return String(format: "%.4f / %.4f (%+.2f %%, %@)", backtest.predicted, backtest.actual,
                      100 * backtest.relativeError, backtest.model)
    }

    static func number(_ value: Double) -> String { String(format: "%.4f", value) }
    static func signed(_ value: Double) -> String { String(format: "%+.4f", value) }
    static func escape(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
}
