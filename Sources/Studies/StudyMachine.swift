import Foundation
import Tensors

/// What a study states about the machine it ran on. Other work on the machine slows a study down without
/// changing its numbers, so the load average is recorded beside the times.
public enum StudyMachine {
    /// "cpu, N cores, T threads, backend; load average … when the first run started, … when the last ended".
    /// `cpu`: the processor's name (the caller reads it, e.g. /proc/cpuinfo's model name).
    public static func description(cpu: String, loadBefore: String, loadAfter: String) -> String {
        "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(Runtime.threads) threads, "
            + "\(Matmul.backend.name); load average \(loadBefore) when the first run started, \(loadAfter) when the last ended "
            + "(1/5/15 min; other work on the machine slows the study, it does not change its numbers)"
    }

    /// The 1, 5 and 15 minute load averages as "a / b / c", "unknown" where /proc/loadavg is missing.
    public static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return text.split(separator: " ").prefix(3).joined(separator: " / ")
    }

    /// "2026-11-29 14:05 UTC".
    public static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }
}
