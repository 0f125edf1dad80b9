import ArgumentParser
import Foundation
import Probes

/// `pretrain probe-table`: the results of several `pretrain probe` runs as one markdown table, a row per
/// representation and a column per task (mean ± std over the probe seeds).
struct ProbeTable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe-table", abstract: "Tabulate pretrain probe result files (markdown).")

    @Argument(help: "Result files written by pretrain probe (--out).") var files: [String]

    func run() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one result file") }
        // A file the table cannot read is the user's data, not their command line: its error, no usage lines.
        try ProbeResultTable.comparison(of: files.map { URL(fileURLWithPath: $0) }).forEach { print($0) }
    }
}
