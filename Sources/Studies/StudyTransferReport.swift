import Foundation
import Training

/// The knowledge-transfer study's outputs: OUT/results.json, its section of the results file and its figures.
public enum StudyTransferReport {
    public static let heading = "## Knowledge transfer: distillation, growth and sparse pre-training"

    public static func write(_ results: StudyTransferResults, out: URL, resultsFile: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(results).write(to: out.appendingPathComponent("results.json"), options: .atomic)
        let directory = resultsFile.deletingLastPathComponent()
        let figures = try writeFigures(results, into: directory.appendingPathComponent("results"))
        let existing = (try? String(contentsOf: resultsFile, encoding: .utf8)) ?? ""
        let document = StudyCPTReport.replacingSection(in: existing, with: section(results, figures: figures.map { "results/" + $0 }),
                                                       heading: heading)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try document.write(to: resultsFile, atomically: true, encoding: .utf8)
    }

    /// The issue's four claims, judged on the means over seeds.
    public static func claims(_ results: StudyTransferResults) -> [StudyClaim] {
        var claims: [StudyClaim] = []
        let kd = results.arm(.kd, "KD (τ 2, ½ hard + ½ soft)"), plain = results.arm(.kd, "no KD")
        let kdPaired = paired(kd, plain) { $0.finalBitsPerByte ?? .nan }
        claims.append(StudyClaim(statement: "a KD student beats the same student without KD at equal steps (val bits/byte)",
                            holds: kdPaired.holds,
                            evidence: "KD \(spread(meanAndDeviation(kd.compactMap(\.finalBitsPerByte)))) vs no KD "
                                + "\(spread(meanAndDeviation(plain.compactMap(\.finalBitsPerByte)))); \(kdPaired.evidence)"))
        for row in growthRows(results) {
            let evidence = row.fraction.map { String(format: "%@ reaches %.4f after %.0f %% of the steps", row.arm, row.target, 100 * $0) }
                ?? String(format: "%@ does not reach %.4f in %d steps", row.arm, row.target, row.steps)
            claims.append(StudyClaim(statement: "growth (\(row.arm)) reaches the from-scratch final loss in ≤ 70 % of its steps",
                                holds: (row.fraction ?? 2) <= 0.7, evidence: evidence))
        }
        let growth = growthRows(results)
        if let aki = growth.first(where: { $0.arm == "grown by aki" }), let twoStage = growth.first(where: { $0.arm == "grown by aki + two-stage" }) {
            func share(_ row: GrowthRow) -> String { row.flopsShare.map { String(format: "%.0f %%", 100 * $0) } ?? "not reached" }
            claims.append(StudyClaim(statement: "bert2BERT's two-stage pre-training reaches the from-scratch final loss with fewer FLOPs than aki alone",
                                holds: (twoStage.flopsShare ?? 2) < (aki.flopsShare ?? 2),
                                evidence: "aki + two-stage \(share(twoStage)) of the from-scratch FLOPs, aki alone \(share(aki))"))
        }
        let further = results.arm(.selfDistillation, "further pre-training"), selfDistilled = results.arm(.selfDistillation, "+ self-distillation")
        let selfPaired = paired(selfDistilled, further) { $0.finalLoss }
        claims.append(StudyClaim(statement: "self-distillation beats plain further pre-training on the small target set (final target val loss)",
                            holds: selfPaired.holds,
                            evidence: "self-distillation \(spread(meanAndDeviation(selfDistilled.map(\.finalLoss)))) vs further pre-training "
                                + "\(spread(meanAndDeviation(further.map(\.finalLoss)))); \(selfPaired.evidence)"))
        let dense = meanAndDeviation(results.arm(.kd, "no KD").map(\.finalLoss))
        let sparse = meanAndDeviation(results.arm(.spdf, "50 % sparse → dense").map(\.finalLoss))
        let gap = (sparse.mean - dense.mean) / dense.mean
        claims.append(StudyClaim(statement: "SPDF at 50 % ends within 2 % of dense after dense continued training (val loss)",
                            holds: abs(gap) <= 0.02,
                            evidence: String(format: "50 %% → dense %@ vs dense %@ (%+.2f %%)", spread(sparse), spread(dense), 100 * gap)))
        return claims
    }

    struct GrowthRow {
        var arm: String
        var target: Double
        var steps: Int
        /// The grown model's loss before any training (step 0).
        var start: Double?
        var reached: Int?
        var fraction: Double? { reached.map { Double($0) / Double(steps) } }
        /// Training FLOPs to reach the target with the small model's own pre-training counted, as a share of the
        /// from-scratch run's.
        var flopsShare: Double?
    }

    /// Each grown arm: the first evaluation after step 0 at or below the from-scratch run's final val loss (every
    /// evaluation of these runs reads the whole val split).
    static func growthRows(_ results: StudyTransferResults) -> [GrowthRow] {
        guard let scratch = results.arm(.growth, "from scratch").first else { return [] }
        let small = results.flopsPerStep["small"], large = results.flopsPerStep["large"]
        let smallSteps = results.arm(.kd, "no KD").first { $0.seed == 1 }?.steps
        return results.arms(.growth).filter { $0 != "from scratch" }.compactMap { arm in
            guard let row = results.arm(.growth, arm).first else { return nil }
            let reached = row.curve.first { $0[0] > 0 && $0[1] <= scratch.finalLoss }.map { Int($0[0]) }
            var share: Double?
            if let reached, let small, let large, let smallSteps {
                // Two-stage arms: their first-stage steps cost less than a whole step.
                let costs = results.stepCosts[arm] ?? []
                let largeSteps = (0..<reached).reduce(0.0) { $0 + ($1 < costs.count ? costs[$1] : 1) }
                share = (Double(smallSteps) * small + largeSteps * large) / (Double(scratch.steps) * large)
            }
            return GrowthRow(arm: arm, target: scratch.finalLoss, steps: scratch.steps, start: row.curve.first { $0[0] == 0 }?[1],
                             reached: reached, flopsShare: share)
        }
    }

    static func section(_ results: StudyTransferResults, figures: [String]) -> String {
        var text = heading + "\n\n"
        if results.size == StudyTransferSize.quick.name {
            text += "*The quick (CI) size: tiny models for a few steps. These numbers test the pipeline, not the papers.*\n\n"
        }
        text += "Made by `\(results.command)`: its runs took \(String(format: "%.1f", results.minutes)) minutes"
            + (results.reusedRuns > 0 ? " (\(results.reusedRuns) of them reused from an earlier invocation)" : "") + "; \(results.machine).\n"
        text += "Val loss is nats per token on the held-out plays (the last evaluation reads the whole split); bits/byte for the causal LMs; "
            + "mean ± sample standard deviation over the seeds listed. Runs and their metrics.jsonl are in the study's output directory.\n\n"
        for question in StudyTransferResults.Question.allCases {
            // Periodic evaluations read `evalBatches` of the split, the last one all of it; only the target play's val
            // split is small enough that every evaluation reads all of it, so a best-so-far compares there alone.
            let best = question == .selfDistillation
            text += "### \(title(question))\n\n| arm | seeds | final val loss |\(best ? " best val loss |" : "") bits/byte |\n"
                + "|---|---|---|\(best ? "---|" : "")---|\n"
            for arm in results.arms(question) {
                let rows = results.arm(question, arm)
                let bits = rows.compactMap(\.finalBitsPerByte)
                text += "| \(arm) | \(rows.map { String($0.seed) }.joined(separator: ", ")) | \(spread(meanAndDeviation(rows.map(\.finalLoss)))) |"
                    + (best ? " \(spread(meanAndDeviation(rows.map(\.bestLoss)))) |" : "")
                    + " \(bits.isEmpty ? "–" : spread(meanAndDeviation(bits))) |\n"
            }
            text += "\n" + notes(question, results)
        }
        text += "### Claims\n\n"
        for claim in claims(results) { text += claim.markdown + "\n" }
        text += "\n" + figures.map { "![](\($0))" }.joined(separator: "\n") + "\n"
        return text
    }

    static func title(_ question: StudyTransferResults.Question) -> String {
        switch question {
        case .kd: return "Soft-label distillation (a large teacher, small students)"
        case .salt: return "SALT: a small model's soft labels (and windows) for the large model's first 25 %"
        case .ernie: return "BERT: ERNIE-Tiny's staged latent distillation vs one-stage KD (masked LM on the Folio's held-out plays)"
        case .selfDistillation: return "Self-distillation for further pre-training on one play"
        case .growth: return "bert2BERT growth: small → large vs large from scratch"
        case .spdf: return "SPDF: sparse pre-training, then dense (vs dense throughout: the no-KD students)"
        }
    }

    static func notes(_ question: StudyTransferResults.Question, _ results: StudyTransferResults) -> String {
        switch question {
        case .salt:
            guard let selection = results.selection else { return "" }
            return String(format: "Selection: %d of %d windows kept (mean small-model loss %.3f; kept %.3f, from %.3f to %.3f).\n\n",
                          selection.selected, selection.windows, selection.meanScore, selection.meanSelectedScore,
                          selection.lowestKept, selection.highestKept)
        case .growth:
            var text = "| grown by | val loss at step 0 | steps to the from-scratch final loss | share of its steps | "
                + "share of its FLOPs, the small model's pre-training included |\n|---|---|---|---|---|\n"
            for row in growthRows(results) {
                text += "| \(row.arm) | \(row.start.map { String(format: "%.4f", $0) } ?? "–") | "
                    + "\(row.reached.map(String.init) ?? "not reached in \(row.steps)") | "
                    + "\(row.fraction.map { String(format: "%.0f %%", 100 * $0) } ?? "–") | "
                    + "\(row.flopsShare.map { String(format: "%.0f %%", 100 * $0) } ?? "–") |\n"
            }
            return text + "\nThe small model is the no-KD student of seed 1; FLOPs are counted as `pretrain bench` does (6·N per token plus "
                + "attention). Steps to the target count from the first evaluation after step 0: the grown runs start at their "
                + "small model's loss and the rewarmed learning rate first moves them away from it. The two-stage arm's first "
                + "\(results.stepCosts.values.first?.count ?? 0) steps each train a sub-model (`two_stage:`), counted at their own "
                + "FLOPs: the drawn depth forward, its top blocks and the head backward.\n\n"
        case .spdf:
            var text = ""
            for arm in results.arms(.spdf) {
                guard let sparsity = results.arm(.spdf, arm).first?.sparsity, let dense = sparsity["flops/dense"],
                      let sparse = sparsity["flops/sparse_equivalent"] else { continue }
                text += String(format: "- %@: the sparse phase's training FLOPs %.3g dense, %.3g with a sparse kernel (%.0f %% saved); our kernels stay dense.\n",
                               arm, dense, sparse, 100 * (1 - sparse / dense))
            }
            let control = meanAndDeviation(results.arm(.spdf, "0 % sparse → dense").map(\.finalLoss)).mean
            let dense = meanAndDeviation(results.arm(.kd, "no KD").map(\.finalLoss)).mean
            if control.isFinite && dense.isFinite {
                text += String(format: "- The 0 %% arm restarts the schedule without masks: %+.2f %% against dense throughout, the share of the gap "
                               + "that the restart alone costs.\n", 100 * (control - dense) / dense)
            }
            return text.isEmpty ? "" : text + "\n"
        default:
            return ""
        }
    }

    /// transfer-<question>.svg: each arm's val loss against steps (seed 1).
    static func writeFigures(_ results: StudyTransferResults, into directory: URL) throws -> [String] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files: [String] = []
        // ERNIE-Tiny's curve would be its last stage's alone: no figure for that question.
        for question in StudyTransferResults.Question.allCases where question != .ernie {
            var plot = SVGPlot(title: title(question), xLabel: "step", yLabel: "val loss (nats/token)")
            plot.id = "transfer-\(question.rawValue)"
            for (index, arm) in results.arms(question).enumerated() {
                guard let row = results.arm(question, arm).first, !row.curve.isEmpty else { continue }
                plot.series.append(SVGPlot.Series(arm, points: row.curve.map { ($0[0], $0[1]) },
                                                  color: SVGPlot.palette[index % SVGPlot.palette.count], markers: true))
            }
            guard !plot.series.isEmpty else { continue }
            let name = "transfer-\(question.rawValue).svg"
            try plot.write(to: directory.appendingPathComponent(name))
            files.append(name)
        }
        return files
    }
}
