import Foundation

/// This process's resident memory, from /proc/self/status (Linux); 0 where there is none.
public enum ProcessMemory {
    /// Resident set size now, in bytes (VmRSS).
    public static var residentBytes: Int { field("VmRSS:") }
    /// The high-water mark of the resident set, in bytes (VmHWM): what the RSS bound is checked against.
    public static var peakResidentBytes: Int { field("VmHWM:") }

    private static func field(_ name: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
              let kilobytes = Int(line.dropFirst(name.count).split(whereSeparator: \.isWhitespace).first ?? "") else { return 0 }
        return kilobytes * 1024
    }
}
