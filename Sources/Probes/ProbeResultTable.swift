import FileErrors
import Foundation

/// Markdown tables of probe results: one run's tasks (`pretrain probe`), and several runs side by side, a row per
/// representation and a column per task (`pretrain probe-table`).
public enum ProbeResultTable {
    /// One probe run: a row per task, mean ± std over `seeds` probe seeds.
    public static func lines(of results: [ProbeResult], seeds: Int) -> [String] {
        ["| representation | task | metric | labels/class | mean ± std over \(seeds) seeds |", "|---|---|---|---|---|"]
            + results.map { result in
                String(format: "| %@ | %@ | %@ | %d | %.4f ± %.4f |", result.representation, result.task.rawValue,
                       result.metric, result.labelsPerClass, result.mean, result.std)
            }
    }

    /// Result files written by `pretrain probe`, one row each (named by the file), then a note on seeds and labels.
    /// Throws naming a file that cannot be read or is not a result file.
    public static func comparison(of files: [URL]) throws -> [String] {
        var rows: [(name: String, results: [ProbeTask: ProbeResult])] = []
        for url in files {
            let results = try JSONFile.decode([ProbeResult].self, from: url, expected: "a result file of pretrain probe")
            rows.append((url.deletingPathExtension().lastPathComponent,
                         Dictionary(results.map { ($0.task, $0) }, uniquingKeysWith: { $1 })))
        }
        let tasks = ProbeTask.allCases.filter { task in rows.contains { $0.results[task] != nil } }
        let seeds = rows.flatMap { $0.results.values.map { $0.scores.count } }.max() ?? 0
        var lines = ["| representation | " + tasks.map { $0 == .pr ? "PR PER ↓" : ProbeTask.music.contains($0) ? "\($0.rawValue) accuracy ↑" : "\($0.rawValue.uppercased()) accuracy ↑" }
            .joined(separator: " | ") + " |"]
        lines.append("|---|" + String(repeating: "---|", count: tasks.count))
        for row in rows {
            let cells = tasks.map { task in
                row.results[task].map { String(format: "%.3f ± %.3f", $0.mean, $0.std) } ?? "–"
            }
            lines.append("| \(row.name) | " + cells.joined(separator: " | ") + " |")
        }
        let labels = Set(rows.flatMap { $0.results.values.map(\.labelsPerClass) }).sorted().map(String.init)
        lines.append("\nmean ± sample standard deviation over \(seeds) probe seeds; "
            + "labelled utterances per class: \(labels.joined(separator: ", "))")
        return lines
    }
}
