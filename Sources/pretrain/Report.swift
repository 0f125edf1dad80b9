import ArgumentParser
import Foundation
import Training

/// `pretrain report RUN_DIR [--out FILE]`: a self-contained HTML page of a run's curves, summary and recipe.
/// Errors (no run directory, no or empty metrics.jsonl, a corrupt line) name the file and line.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained report.html (plots, summary, recipe) for a run directory.")

    @Argument(help: "Run directory (holds metrics.jsonl and recipe.yaml).")
    var runDirectory: String

    @Option(help: "Where to write the page (default: RUN_DIR/report.html).")
    var out: String?

    func run() throws {
        let report = try RunReport(runDirectory: URL(fileURLWithPath: runDirectory))
        let url = try report.write(to: out.map { URL(fileURLWithPath: $0) })
        print("wrote \(url.path)")
    }
}
