import Distributed
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The live console line of a run: `step 120/2000 │ loss 4.1234 │ lr 9.80e-04 │ 12,345 tok/s │ ETA 3m12s`.
///
/// On a terminal it is redrawn in place with a carriage return (at most ten times a second); otherwise (a log
/// file, a pipe) it is printed as a plain line once per logging interval. Messages (evaluations, checkpoints)
/// always get lines of their own.
public final class ConsoleProgress {
    public enum Mode { case terminal, lines, silent }

    public let mode: Mode
    /// Sees every message, printed or not (tests read what a run says through it).
    public var onMessage: ((String) -> Void)?
    /// stderr for commands whose stdout holds their results (`TaskProgress`); stdout for a training run.
    private let output: FileHandle
    private var lineIsOpen = false
    private var lastDraw = 0.0

    public init(mode: Mode? = nil, standardError: Bool = false) {
        output = standardError ? .standardError : .standardOutput
        // In a data-parallel job only rank 0 speaks (the others would print the same lines N times).
        self.mode = mode ?? (World.current.rank != 0 ? .silent
                             : isatty(standardError ? STDERR_FILENO : STDOUT_FILENO) != 0 ? .terminal : .lines)
    }

    /// A step's status. `logged`: this step wrote a metrics row (the moment a non-terminal prints).
    public func update(_ status: String, logged: Bool) {
        switch mode {
        case .silent: return
        case .lines:
            guard logged else { return }
            write(status + "\n")
        case .terminal:
            let now = Date().timeIntervalSinceReferenceDate
            guard logged || now - lastDraw >= 0.1 else { return }
            lastDraw = now
            write("\r" + status + "\u{1B}[K")
            lineIsOpen = true
        }
    }

    /// A line of its own, below the live line.
    public func message(_ text: String) {
        onMessage?(text)
        guard mode != .silent else { return }
        if lineIsOpen { write("\n"); lineIsOpen = false }
        write(text + "\n")
    }

    /// Ends the live line (before the process prints anything else).
    public func finish() {
        if lineIsOpen { write("\n"); lineIsOpen = false }
    }

    private func write(_ text: String) {
        output.write(Data(text.utf8))
    }

    /// `3m12s`, `1h04m`, `42s`.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let total = Int(seconds.rounded())
        if total >= 3600 { return String(format: "%dh%02dm", total / 3600, total % 3600 / 60) }
        if total >= 60 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return "\(total)s"
    }

    /// 12345.6 → `12,346`.
    public static func grouped(_ value: Double) -> String {
        guard value.isFinite else { return "?" }
        let digits = String(Int(value.rounded()))
        var result = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0 && index % 3 == 0 && character != "-" { result.append(",") }
            result.append(character)
        }
        return String(result.reversed())
    }
}
