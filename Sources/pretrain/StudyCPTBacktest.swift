import Foundation

/// The learning-curve backtest of one run (issue 5, item 4): the val-loss curve's first 30 % fitted, its final
/// loss predicted and compared with the one measured.
struct StudyBacktest: Codable {
    var model: String
    var predicted: Double
    var actual: Double
    var relativeError: Double { (predicted - actual) / actual }
}

enum StudyBacktester {
    static let fraction = 0.3

    /// `pretrain predict RUN --backtest` of this same executable, read from its answer. `priorRun`: a finished run
    /// of the same model (the upstream pre-training, for the arms) whose whole curve gives the annealing bonus
    /// (`--prior-run`): from 30 % of an arm the coming decay's gain cannot be fitted, from the upstream run's
    /// finished cosine it can. nil when the fit fails; the table then says so.
    static func backtest(runDirectory: URL, priorRun: URL? = nil) -> StudyBacktest? {
        guard let executable = Bundle.main.executableURL else { return nil }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["predict", runDirectory.path, "--backtest", "--from-fraction", String(fraction)]
            + (priorRun.map { ["--prior-run", $0.path] } ?? [])
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return nil }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return parse(output)
    }

    /// The first line holding "backtest on METRIC (MODEL): … predicted step N: P …, actual A, …" (a run directory
    /// may come first).
    static func parse(_ output: String) -> StudyBacktest? {
        for line in output.split(separator: "\n") {
            guard let start = line.range(of: "backtest on ") else { continue }
            let text = line[start.upperBound...]
            func number(after marker: String) -> Double? {
                guard let range = text.range(of: marker) else { return nil }
                return Double(text[range.upperBound...].prefix { "0123456789.".contains($0) })
            }
            guard let open = text.firstIndex(of: "("), let close = text[open...].firstIndex(of: ")"),
                  let predictedStep = text.range(of: "predicted step "),
                  let colon = text[predictedStep.upperBound...].range(of: ": "),
                  let predicted = Double(text[colon.upperBound...].prefix { "0123456789.".contains($0) }),
                  let actual = number(after: "actual ") else { continue }
            return StudyBacktest(model: String(text[text.index(after: open)..<close]), predicted: predicted, actual: actual)
        }
        return nil
    }
}
