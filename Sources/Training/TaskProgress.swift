import Foundation

/// The progress line of a long command that is not a training run (probes, k-means, feature preparation, speech
/// synthesis): `features prepare: 120/800 files │ 15.2 files/s │ ETA 44s`, on stderr so that stdout keeps only
/// the command's results. Redrawn in place on a terminal (`ConsoleProgress`); otherwise a line at the first
/// update, then at most every `interval` seconds, and at the end, so that a log shows the command is alive.
/// Updates may come from several threads.
public final class TaskProgress: @unchecked Sendable {
    public let label: String
    public let unit: String
    private let console: ConsoleProgress
    private let interval: Double
    private let lock = NSLock()
    private var start: Date?
    private var lastLine: Date?

    public init(_ label: String, unit: String, interval: Double = 10,
                console: ConsoleProgress = ConsoleProgress(standardError: true)) {
        (self.label, self.unit, self.interval, self.console) = (label, unit, interval, console)
    }

    /// `done` of `total` units; the rate and ETA come from the time since the first update.
    public func update(_ done: Double, of total: Double) {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        let started = start ?? now
        start = started
        let due = lastLine.map { now.timeIntervalSince($0) >= interval } ?? true
        let logged = due || done >= total
        if logged { lastLine = now }
        console.update(Self.status(label, unit: unit, done: done, total: total,
                                   seconds: now.timeIntervalSince(started)), logged: logged)
    }

    /// A line of its own below the progress line.
    public func message(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        console.message(text)
    }

    /// Ends the live line.
    public func finish() {
        lock.lock(); defer { lock.unlock() }
        console.finish()
    }

    /// `label: 120/800 files │ 15.2 files/s │ ETA 44s` (rate and ETA once some time has passed).
    public static func status(_ label: String, unit: String, done: Double, total: Double, seconds: Double) -> String {
        func amount(_ value: Double) -> String {
            total < 100 && total != total.rounded() ? String(format: "%.2f", value) : ConsoleProgress.grouped(value)
        }
        var line = "\(label): \(amount(done))/\(amount(total)) \(unit)"
        guard seconds > 0.5, done > 0 else { return line }
        let rate = done / seconds
        line += rate >= 10 ? " │ \(ConsoleProgress.grouped(rate)) \(unit)/s" : String(format: " │ %.3g %@/s", rate, unit)
        if done < total { line += " │ ETA " + ConsoleProgress.duration((total - done) / rate) }
        return line
    }
}
