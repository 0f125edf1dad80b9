import FileErrors
import Foundation
import Training

/// The downstream study's results.json and its section of docs/RESULTS.md.
public enum StudyDownstreamReport {
    public static let heading = "## Downstream evaluation of text models: the task suite, PCP vs TAPT, self-training, flatness"

    public static func write(_ results: StudyDownstreamResults, out: URL, resultsFile: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(results).write(to: out.appendingPathComponent("results.json"), options: .atomic)
        let figures = try writeFigures(results, into: resultsFile.deletingLastPathComponent().appendingPathComponent("results"))
        let existing = (try? String(contentsOf: resultsFile, encoding: .utf8)) ?? ""
        let document = StudyCPTReport.replacingSection(in: existing, with: section(results, figures: figures.map { "results/" + $0 }),
                                                       heading: heading)
        try FileError.createDirectory(resultsFile.deletingLastPathComponent())
        try document.write(to: resultsFile, atomically: true, encoding: .utf8)
    }

    /// The section and figures again from OUT/results.json (a study that already ran; nothing is trained or scored).
    public static func rewrite(out: URL, resultsFile: URL) throws -> StudyDownstreamResults {
        let url = out.appendingPathComponent("results.json")
        let data = try FileError.wrap("read", path: url.path) { try Data(contentsOf: url) }
        let results: StudyDownstreamResults
        do { results = try JSONDecoder().decode(StudyDownstreamResults.self, from: data) } catch {
            throw TrainingError("\(url.path): not the downstream study's results (\(error))")
        }
        try write(results, out: out, resultsFile: resultsFile)
        return results
    }

    /// downstream-flatness.svg (each route's Hessian trace against its mean fine-tuned accuracy) and
    /// downstream-pcp-<task>.svg (prompt-based fine-tuning's accuracy against K after PCP, TAPT or none).
    static func writeFigures(_ results: StudyDownstreamResults, into directory: URL) throws -> [String] {
        try FileError.createDirectory(directory)
        var files: [String] = []
        if !results.flatness.isEmpty {
            var plot = SVGPlot(title: "Same loss, different flatness", xLabel: "Hessian trace (Hutchinson)",
                               yLabel: "mean fine-tuned test accuracy (%)")
            plot.id = "downstream-flatness"
            for (index, route) in results.flatness.enumerated() {
                let scores = results.rows.filter { $0.part == "flatness" && $0.model == route.route }.map(\.mean)
                guard !scores.isEmpty else { continue }
                plot.series.append(SVGPlot.Series(route.route, points: [(route.trace, 100 * scores.reduce(0, +) / Double(scores.count))],
                                                  color: SVGPlot.palette[index % SVGPlot.palette.count], lineStyle: nil, markers: true))
            }
            if !plot.series.isEmpty {
                try plot.write(to: directory.appendingPathComponent("downstream-flatness.svg"))
                files.append("downstream-flatness.svg")
            }
        }
        let adaptive = results.rows.filter { $0.part == "adaptive" && $0.method == "prompt-based" && $0.shots != nil }
        for task in Set(adaptive.map(\.task)).sorted() {
            var plot = SVGPlot(title: "\(task): prompt-based fine-tuning after continued pre-training", xLabel: "K (examples per class)",
                               yLabel: "test accuracy (%, mean over seeds)")
            plot.id = "downstream-pcp-\(task)"
            for (index, start) in ["none", "TAPT", "PCP"].enumerated() {
                let points = adaptive.filter { $0.task == task && $0.model == start }.sorted { $0.shots! < $1.shots! }
                    .map { (x: Double($0.shots!), y: 100 * $0.mean) }
                if !points.isEmpty { plot.series.append(SVGPlot.Series(start, points: points, color: SVGPlot.palette[index], markers: true)) }
            }
            try plot.write(to: directory.appendingPathComponent("downstream-pcp-\(task).svg"))
            files.append("downstream-pcp-\(task).svg")
        }
        return files
    }

    /// Test accuracy over seeds as "mean ± sd" in percent.
    static func percent(_ values: [Double]) -> String {
        guard !values.isEmpty else { return "–" }
        let (mean, deviation) = meanAndDeviation(values.map { 100 * $0 })
        return deviation > 0 ? String(format: "%.1f ± %.1f", mean, deviation) : String(format: "%.1f", mean)
    }

    static func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }

    public static func claims(_ results: StudyDownstreamResults) -> [StudyClaim] {
        var claims: [StudyClaim] = []
        // Continued pre-training on the task domain: each model's mean over tasks, with and without.
        let suiteShots = results.rows.first { $0.part == "suite" }?.shots
        for model in ["gpt", "bert"] {
            let base = results.tasks.compactMap { results.row(part: "suite", model: model, task: $0, method: "fine-tuned", shots: suiteShots)?.mean }
            let domain = results.tasks.compactMap { results.row(part: "suite", model: model + "+domain", task: $0, method: "fine-tuned", shots: suiteShots)?.mean }
            guard !base.isEmpty, base.count == domain.count else { continue }
            let better = zip(domain, base).filter { $0 > $1 }.count
            claims.append(StudyClaim(
                statement: "continued pre-training on the tasks' own texts raises the \(model.uppercased())'s fine-tuned accuracy (Gururangan et al.)",
                holds: better * 2 > base.count,
                evidence: String(format: "higher on %d of %d tasks; mean %.1f %% → %.1f %%", better, base.count, 100 * mean(base), 100 * mean(domain))))
        }
        // PCP against TAPT and none under prompt-based fine-tuning, per task and K.
        for (task, shots) in Set(results.rows.filter { $0.part == "adaptive" }.map { "\($0.task)|\($0.shotsLabel)" }).sorted().map({ key -> (String, Int?) in
            let parts = key.split(separator: "|")
            return (String(parts[0]), Int(parts[1]))
        }) {
            let score = { (start: String, method: String) in results.row(part: "adaptive", model: start, task: task, method: method, shots: shots)?.mean ?? .nan }
            let pcp = score("PCP", "prompt-based"), tapt = score("TAPT", "prompt-based"), none = score("none", "prompt-based")
            claims.append(StudyClaim(
                statement: "on \(task) at K = \(shots.map(String.init) ?? "all"), prompt-based continued pre-training beats TAPT and none under prompt-based fine-tuning (Shi & Lipani)",
                holds: pcp > tapt && pcp > none,
                evidence: String(format: "PCP %.1f %%, TAPT %.1f %%, none %.1f %% (mean over seeds)", 100 * pcp, 100 * tapt, 100 * none)))
        }
        // Self-training against fine-tuning alone.
        for row in results.rows where row.part == "self-training" && row.method == "self-training" {
            guard let alone = results.row(part: "self-training", model: row.model, task: row.task, method: "fine-tuning alone", shots: row.shots) else { continue }
            let kept = results.pseudoLabels.filter { $0.task == row.task && $0.shots == row.shots }.map(\.kept)
            claims.append(StudyClaim(
                statement: "on \(row.task) at K = \(row.shotsLabel), a pseudo-label self-training stage beats fine-tuning alone",
                holds: row.mean > alone.mean,
                evidence: String(format: "%.1f %% vs %.1f %% (mean over seeds)", 100 * row.mean, 100 * alone.mean)
                    + (kept.allSatisfy { $0 == 0 } ? "; no unlabelled text reached the threshold, so no pseudo-label stage ran"
                                                   : "; pseudo-labels kept per seed: " + kept.map(String.init).joined(separator: ", "))))
        }
        // Flatness: the trace's correlation with the downstream mean over the routes.
        let routes = results.flatness.map { route -> (trace: Double, score: Double) in
            let scores = results.rows.filter { $0.part == "flatness" && $0.model == route.route }.map(\.mean)
            return (route.trace, mean(scores))
        }.filter { $0.score.isFinite }
        if routes.count >= 3 {
            let r = pearson(routes.map(\.trace), routes.map(\.score))
            claims.append(StudyClaim(
                statement: "at matched pre-training loss, the flatter model (smaller Hessian trace) transfers better (Liu et al.)",
                holds: r < 0,
                evidence: String(format: "Pearson r(trace, mean fine-tuned accuracy) = %+.2f over %d routes", r, routes.count)))
        }
        return claims
    }

    static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let (mx, my) = (mean(x), mean(y))
        let covariance = zip(x, y).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
        let (vx, vy) = (x.map { ($0 - mx) * ($0 - mx) }.reduce(0, +), y.map { ($0 - my) * ($0 - my) }.reduce(0, +))
        return vx > 0 && vy > 0 ? covariance / (vx * vy).squareRoot() : .nan
    }

    static func section(_ results: StudyDownstreamResults, figures: [String] = []) -> String {
        var lines = [heading, "",
                     "Made by `\(results.command)` (\(results.size) size) on \(results.machine); \(String(format: "%.0f", results.minutes)) "
                        + "minutes of training and fine-tuning, reused runs and fine-tunings counted as they ran then (\(results.reusedRuns) runs and "
                        + "\(results.reusedFineTunings) fine-tunings reused\(results.untimedFineTunings > 0 ? ", \(results.untimedFineTunings) of them stored without their time and not counted" : "")). "
                        + "Test accuracy in percent, mean ± sd over seeds (each seed its own few-shot sample); the tasks and their "
                        + "baselines are described in docs/EVALUATION.md. Nothing was tuned on a test split: the fine-tuning settings "
                        + "are fixed beforehand and the step is chosen on dev.", ""]
        let shots = results.rows.first { $0.part == "suite" }?.shots
        lines += ["### The suite (K = \(shots.map(String.init) ?? "all") per class)", "",
                  "Zero-shot: lm-evaluation-harness-style multiple choice over the task's verbalised labels, on the first "
                    + "\(results.zeroShotLimit.map(String.init) ?? "all") test examples; the other columns are fine-tuned with a head on the whole test split.", "",
                  "| task | majority | bag of words | GPT zero-shot (acc) | GPT | GPT + domain | BERT | BERT + domain |",
                  "|---|---|---|---|---|---|---|---|"]
        for task in results.tasks {
            let baseline = results.baselines.first { $0.task == task }
            let zero = results.zeroShot.first { $0.task == task && $0.model == "gpt" }
            var cells = [task, percent(baseline?.majority ?? []), percent(baseline?.bagOfWords ?? []),
                         zero.map { String(format: "%.1f", 100 * $0.acc) } ?? "–"]
            for model in StudyDownstream.suiteModels {
                cells.append(percent(results.row(part: "suite", model: model, task: task, method: "fine-tuned", shots: shots)?.accuracy ?? []))
            }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        let adaptive = results.rows.filter { $0.part == "adaptive" }
        if !adaptive.isEmpty {
            lines += ["", "### PCP vs TAPT vs none (the BERT)", "",
                      "| task | K | continued pre-training | conventional fine-tuning | prompt-based fine-tuning |", "|---|---|---|---|---|"]
            for task in Set(adaptive.map(\.task)).sorted() {
                for k in Set(adaptive.filter { $0.task == task }.compactMap(\.shots)).sorted() {
                    for start in ["none", "TAPT", "PCP"] {
                        let cell = { (method: String) in percent(results.row(part: "adaptive", model: start, task: task, method: method, shots: k)?.accuracy ?? []) }
                        lines.append("| \(task) | \(k) | \(start) | \(cell("conventional")) | \(cell("prompt-based")) |")
                    }
                }
            }
        }
        let selfTraining = results.rows.filter { $0.part == "self-training" }
        if !selfTraining.isEmpty {
            lines += ["", "### Self-training vs fine-tuning alone (the GPT)", "",
                      "Pseudo-labels: the unlabelled texts the first classifier labelled with a probability of at least the threshold.", "",
                      "| task | K | fine-tuning alone | self-training | pseudo-labels kept (per seed) |", "|---|---|---|---|---|"]
            for row in selfTraining where row.method == "fine-tuning alone" {
                let trained = results.row(part: "self-training", model: row.model, task: row.task, method: "self-training", shots: row.shots)
                let kept = results.pseudoLabels.filter { $0.task == row.task && $0.shots == row.shots }
                let keptText = kept.map { "\($0.kept)/\($0.unlabelled)" }.joined(separator: ", ")
                lines.append("| \(row.task) | \(row.shotsLabel) | \(percent(row.accuracy)) | \(percent(trained?.accuracy ?? [])) | \(keptText) |")
            }
        }
        if !results.flatness.isEmpty {
            let tasks = Set(results.rows.filter { $0.part == "flatness" }.map(\.task)).sorted()
            lines += ["", "### Same loss, different flatness", "",
                      String(format: "Each route's evaluated checkpoint nearest the base GPT's val loss (%.4f); Hessian trace by Hutchinson's "
                             + "estimator (95 %% interval) and top eigenvalue by power iteration, on the same val batches.", results.targetLoss ?? .nan), "",
                      "| route | step | val loss | Hessian trace | top eigenvalue | " + tasks.joined(separator: " | ") + " |",
                      "|---|---|---|---|---|" + tasks.map { _ in "---|" }.joined()]
            for route in results.flatness {
                let scores = tasks.map { task in percent(results.rows.first { $0.part == "flatness" && $0.model == route.route && $0.task == task }?.accuracy ?? []) }
                lines.append("| \(route.route) | \(route.step) | " + String(format: "%.4f | %.1f ± %.1f | %.2f | ", route.valLoss, route.trace,
                                                                                route.traceInterval, route.topEigenvalue) + scores.joined(separator: " | ") + " |")
            }
        }
        lines += ["", "### Claims", ""] + claims(results).map(\.markdown)
        if !figures.isEmpty { lines += [""] + figures.map { "![](\($0))" } }
        return lines.joined(separator: "\n") + "\n"
    }
}
