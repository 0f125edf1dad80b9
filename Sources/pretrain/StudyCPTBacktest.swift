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

    /// `pretrain predict RUN --backtest` of this same executable, read from its one-line answer:
    /// "backtest on val_loss (MODEL): … predicted step N: P [lo, hi], actual A, relative error …".
    /// nil when this build has no `predict` (learning-curve prediction not merged yet) or the fit fails; the
    /// table then says so. A subprocess keeps the study independent of that API until both are in main.
    static func backtest(runDirectory: URL) -> StudyBacktest? {
        guard let executable = Bundle.main.executableURL else { return nil }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["predict", runDirectory.path, "--backtest", "--from-fraction", String(fraction)]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return nil }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return parse(output)
    }

    static func parse(_ output: String) -> StudyBacktest? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("backtest on ") }) else { return nil }
        func number(after marker: String) -> Double? {
            guard let range = line.range(of: marker) else { return nil }
            let digits = line[range.upperBound...].prefix { "0123456789.-+eE".contains($0) }
            return Double(digits)
        }
        var model = "?"
        if let open = line.firstIndex(of: "("), let close = line[open...].firstIndex(of: ")") {
            model = String(line[line.index(after: open)..<close])
        }
        guard let colon = line.range(of: "predicted step "),
              let separator = line[colon.upperBound...].range(of: ": "),
              let predicted = Double(line[separator.upperBound...].prefix { "0123456789.".contains($0) }),
              let actual = number(after: "actual ") else { return nil }
        return StudyBacktest(model: model, predicted: predicted, actual: actual)
    }
}
