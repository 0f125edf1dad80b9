import Foundation

/// The machine a computation runs on, as run records and reports name it (numbers are only comparable on one).
public enum Machine {
    /// The CPU's model name from /proc/cpuinfo ("AMD EPYC 9R14 96-Core Processor"), "unknown" elsewhere.
    public static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return "unknown"
    }

    /// "AMD EPYC, 2 cores, 2 threads, oneDNN …": the CPU, the cores this process may use, the compute threads and the
    /// matrix backend.
    public static var summary: String {
        "\(cpuModel), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(Runtime.threads) threads, \(Matmul.backend.name)"
    }
}
