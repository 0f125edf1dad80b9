import Foundation
import Training

/// Everything the study measured, as results.json holds it and RESULTS.md shows it.
struct StudyCPTResults: Codable {
    var size: String
    var command: String
    var machine: String
    var date: String
    /// Wall time of all the runs (training and evaluation), and how many came from an earlier invocation (--reuse).
    var runSeconds: Double
    var reusedRuns: Int
    var design: String
    var reference: StudyCPTReference
    var arms: [StudyCPTArmResult]
    var claims: [StudyCPTClaim]
    /// Median |predicted − actual| / actual of the final loss over every curve with a backtest.
    var backtestMedianError: Double?
    var backtestCount: Int

    static let backtestTarget = 0.02
}

enum StudyCPTReport {
    static let heading = "## Continual pre-training (issue 5)"

    /// `document` with the study's section replaced (up to the next level-2 heading), or appended when absent.
    /// Other sections are left byte for byte.
    static func replacingSection(in document: String, with section: String) -> String {
        var lines = document.components(separatedBy: "\n")
        let body = section.hasSuffix("\n") ? String(section.dropLast()) : section
        if let start = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == heading }) {
            let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("## ") } ?? lines.count
            let following = end < lines.count ? [""] : []
            lines.replaceSubrange(start..<end, with: body.components(separatedBy: "\n") + following)
            return lines.joined(separator: "\n")
        }
        var text = document.isEmpty ? "# Results\n\nMeasured numbers of the studies in this repository, each section written by the command it names.\n" : document
        if !text.hasSuffix("\n") { text += "\n" }
        return text + "\n" + body + "\n"
    }

    /// The Markdown section: how it was made, the table, the claims, the backtest and the figures.
    static func section(_ results: StudyCPTResults, plots: [(group: StudyCPTGroup, files: [String])]) -> String {
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

        text += "| arm | downstream val | Δ downstream | upstream val | forgetting | gap depth (peak, recovered) | upstream rise | backtest: predicted / actual (error) |\n"
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
            text += "Not measured: this build has no `pretrain predict` (learning-curve prediction, issue 5 item 4), so the "
                + "backtest column is empty. Rerun the study once it is in the build.\n"
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

    static func backtestCell(_ backtest: StudyBacktest?) -> String {
        guard let backtest else { return "—" }
        return String(format: "%.4f / %.4f (%+.2f %%, %@)", backtest.predicted, backtest.actual,
                      100 * backtest.relativeError, backtest.model)
    }

    static func number(_ value: Double) -> String { String(format: "%.4f", value) }
    static func signed(_ value: Double) -> String { String(format: "%+.4f", value) }
    static func escape(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }

    // MARK: - Figures

    /// Two SVGs per group (downstream and upstream val loss against the steps after the switch), written into
    /// `directory`; returns their names.
    static func writePlots(_ results: StudyCPTResults, into directory: URL) throws -> [(group: StudyCPTGroup, files: [String])] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var written: [(StudyCPTGroup, [String])] = []
        for group in StudyCPTGroup.allCases {
            let arms = results.arms.filter { $0.groups.contains(group.rawValue) }
            guard !arms.isEmpty else { continue }
            var files: [String] = []
            for (set, title) in [("downstream", "downstream (First Folio)"), ("upstream", "upstream (modern spelling)")] {
                // Step 0 of every curve is the upstream checkpoint as loaded; the last point reads the whole split.
                var plot = SVGPlot(title: "\(group.shortTitle): \(title) val loss", xLabel: "steps after the switch",
                                   yLabel: "val loss (nats/token)")
                plot.id = "cpt-\(group.rawValue)-\(set)"
                for (index, arm) in arms.enumerated() {
                    let curve = set == "downstream" ? arm.downstream : arm.upstream
                    plot.series.append(SVGPlot.Series(arm.label, points: zip(curve.steps, curve.losses).map { (Double($0), $1) },
                                                      color: SVGPlot.palette[index % SVGPlot.palette.count],
                                                      lineStyle: arm.name.hasSuffix("_anneal") ? .dashed : .solid,
                                                      markers: true))
                }
                plot.height = 380
                let name = "cpt-\(group.rawValue)-\(set).svg"
                try plot.write(to: directory.appendingPathComponent(name))
                files.append(name)
            }
            written.append((group, files))
        }
        return written
    }
}
