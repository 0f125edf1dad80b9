import Foundation

/// Everything the study measured, as results.json holds it and RESULTS.md shows it.
public struct StudyCPTResults: Codable {
    public var size: String
    public var command: String
    public var machine: String
    public var date: String
    /// Wall time of all the runs (training and evaluation), and how many came from an earlier invocation (--reuse).
    public var runSeconds: Double
    public var reusedRuns: Int
    public var design: String
    public var reference: StudyCPTReference
    public var arms: [StudyCPTArmResult]
    public var claims: [StudyClaim]
    /// Median |predicted − actual| / actual of the final loss over every curve with a backtest.
    public var backtestMedianError: Double?
    public var backtestCount: Int

    /// The median backtest error issue 5 asks for.
    public static let backtestTarget = 0.02

    /// The claims and the backtest summary are judged here, from `reference` and `arms`.
    public init(size: String, command: String, machine: String, date: String, runSeconds: Double, reusedRuns: Int,
                design: String, reference: StudyCPTReference, arms: [StudyCPTArmResult]) {
        self.size = size
        self.command = command
        self.machine = machine
        self.date = date
        self.runSeconds = runSeconds
        self.reusedRuns = reusedRuns
        self.design = design
        self.reference = reference
        self.arms = arms
        claims = StudyClaim.judge(arms)
        let backtests = ([reference.backtest] + arms.map(\.backtest)).compactMap { $0 }
        let errors = backtests.map { abs($0.relativeError) }.sorted()
        backtestMedianError = errors.isEmpty ? nil : (errors[(errors.count - 1) / 2] + errors[errors.count / 2]) / 2
        backtestCount = backtests.count
    }
}
