import Dispatch
import Foundation

/// How long and how hard one parser is fuzzed.
public struct FuzzOptions {
    public var seconds: Double = 10
    /// Stops after this many inputs (or at `seconds`, whichever comes first).
    public var maxInputs: Int?
    public var seed: UInt64 = 0
    /// The resident-memory bound: exceeding it ends the process (exit status 3) naming the input.
    public var maxRSSMegabytes = 2048
    /// The time one input may take: exceeding it is a hang (exit status 2) naming the input.
    public var maxInputSeconds: Double = 10
    /// Leaves out the families marked with an open issue item.
    public var skipKnown = false
    /// Only this family (to check one issue item, or a fix).
    public var family: String?

    public init() {}

    /// The command line that makes input `index` again.
    func rerun(_ target: FuzzTarget, _ index: Int) -> String {
        "pretrain fuzz \(target.name) --seed \(seed) --input \(index)\(skipKnown ? " --skip-known" : "")"
            + "\(family.map { " --family \($0)" } ?? "") --save-input DIR"
    }
}

/// What a session did: inputs made and parsed, how they ended, the memory the process reached.
public struct FuzzSummary {
    public var target: String
    public var inputs = 0, errors = 0, accepted = 0
    /// Rejections whose message is empty or spans several lines (any line break: a user should get one line).
    public var unclearErrors = 0
    public var firstUnclearError: String?
    /// Inputs a parser accepted although the result breaks what it promises (`FuzzFinding`), and the first one.
    public var findings = 0
    public var firstFinding: String?
    public var seconds = 0.0
    public var peakRSSBytes = 0

    /// `fuzz recipe: 123456 inputs in 60.0 s, 0 crashes, 98765 errors, 24691 accepted, peak RSS 120 MB`: a crash
    /// ends the process, so a summary that is printed says 0 crashes.
    public var line: String {
        let unclear = unclearErrors > 0 ? " (\(unclearErrors) not one line)" : ""
        let found = findings > 0 ? ", \(findings) finding\(findings == 1 ? "" : "s")" : ""
        return "fuzz \(target): \(inputs) inputs in \(String(format: "%.1f", seconds)) s, 0 crashes, \(errors) errors\(unclear), "
            + "\(accepted) accepted\(found), peak RSS \(peakRSSBytes >> 20) MB"
    }
}

/// Runs one parser's fuzzer in this process: makes input 0, 1, 2, ... from the seed until the time is up, parses
/// each in a scratch directory, and counts how each ended. A trap ends the process (the crash report names the
/// input); a watchdog thread ends it when an input runs past `maxInputSeconds` or the RSS passes the bound.
public final class FuzzRunner {
    let target: FuzzTarget
    let options: FuzzOptions
    private let lock = NSLock()
    private var current: (index: Int, family: Int, started: UInt64)?
    private let scratch: URL

    public init(target: FuzzTarget, options: FuzzOptions) {
        self.target = target
        self.options = options
        scratch = Self.scratchParent
            .appendingPathComponent("pretrain-fuzz-\(target.name)-\(ProcessInfo.processInfo.processIdentifier)")
    }

    /// /dev/shm where it is a writable directory (the parsers write and fsync corpora and checkpoints: on a disk
    /// that is most of an input's time), else the temporary directory. `TMPDIR` set by the user wins.
    static var scratchParent: URL {
        let shm = URL(fileURLWithPath: "/dev/shm")
        if ProcessInfo.processInfo.environment["TMPDIR"] == nil, access(shm.path, W_OK) == 0 { return shm }
        return FileManager.default.temporaryDirectory
    }

    /// Fuzzes until `options.seconds` have passed or `options.maxInputs` inputs were parsed.
    public func run() throws -> FuzzSummary {
        CrashReport.install()
        startWatchdog()
        defer { try? FileManager.default.removeItem(at: scratch) }
        var summary = FuzzSummary(target: target.name)
        let start = DispatchTime.now().uptimeNanoseconds
        let deadline = options.seconds.isFinite ? start + UInt64(options.seconds * 1e9) : UInt64.max
        var index = 0
        repeat {
            let outcome = try parse(index).outcome
            summary.inputs += 1
            switch outcome {
            case .accepted: summary.accepted += 1
            case .finding(let message):
                summary.findings += 1
                if summary.firstFinding == nil { summary.firstFinding = "input \(index) (\(options.rerun(target, index))): \(message)" }
            case .rejected(let message):
                summary.errors += 1
                if message.isEmpty || message.contains(where: \.isNewline) {   // "\r\n", "\r", U+2028 too
                    summary.unclearErrors += 1
                    if summary.firstUnclearError == nil {
                        summary.firstUnclearError = "input \(index) (\(options.rerun(target, index))): \(message.prefix(400))"
                    }
                }
            }
            index += 1
        } while DispatchTime.now().uptimeNanoseconds < deadline && index < options.maxInputs ?? .max
        summary.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        summary.peakRSSBytes = ProcessMemory.peakResidentBytes
        return summary
    }

    public enum Outcome {
        case accepted
        /// The parser's error message.
        case rejected(String)
        /// Accepted, but the result breaks a promise (see `FuzzFinding`).
        case finding(String)
    }

    /// Makes and parses input `index` alone (a rerun); writes its files to `save` first when given.
    public func runOne(_ index: Int, save: URL?) throws -> (family: MutationFamily, outcome: Outcome) {
        CrashReport.install()
        startWatchdog()
        defer { try? FileManager.default.removeItem(at: scratch) }
        if let save {
            try makeInput(index).input.write(into: save)
        }
        let (family, outcome) = try parse(index)
        return (target.families[family], outcome)
    }

    /// How each unmutated seed ends (each should be accepted, or the mutations start from a rejected input).
    public func parseSeeds() -> [Outcome] {
        defer { try? FileManager.default.removeItem(at: scratch) }
        return target.seeds.map { seed in
            do {
                try target.parse(seed, in: scratch)
                return .accepted
            } catch {
                return .rejected("\(error)")
            }
        }
    }

    private func makeInput(_ index: Int) -> (family: Int, input: FuzzInput) {
        target.input(seed: options.seed, index: index, skipKnown: options.skipKnown, only: options.family)
    }

    private func parse(_ index: Int) throws -> (family: Int, outcome: Outcome) {
        CrashReport.prepare("fuzz \(target.name): CRASH while making input \(index) (a bug of the fuzzer, not of the parser); "
            + "rerun: \(options.rerun(target, index))")
        let (family, input) = makeInput(index)
        let name = target.families[family].name
        let known = target.families[family].knownIssue.map { "; known issue: \($0)" } ?? ""
        CrashReport.prepare("fuzz \(target.name): CRASH on input \(index) (family \(name)\(known)); its files are in "
            + "\(scratch.path); rerun: \(options.rerun(target, index))")
        try input.write(into: scratch)
        lock.withLock { current = (index, family, DispatchTime.now().uptimeNanoseconds) }
        defer { lock.withLock { current = nil } }
        do {
            try target.parseFiles(input, scratch)
            return (family, .accepted)
        } catch let finding as FuzzFinding {
            return (family, .finding(finding.description))
        } catch {
            return (family, .rejected("\(error)"))
        }
    }

    /// Every 20 ms: is the current input past its time, or the process past its memory bound?
    private func startWatchdog() {
        let thread = Thread { [self] in
            let limitBytes = options.maxRSSMegabytes << 20
            while true {
                Thread.sleep(forTimeInterval: 0.02)
                guard let (index, family, started) = lock.withLock({ current }) else { continue }
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                let name = target.families[family].name
                let known = target.families[family].knownIssue.map { "; known issue: \($0)" } ?? ""
                if elapsed > options.maxInputSeconds {
                    CrashReport.writeNow("fuzz \(target.name): HANG on input \(index) (family \(name)\(known)): still running after "
                        + "\(String(format: "%.0f", elapsed)) s; its files are in \(scratch.path); rerun: \(options.rerun(target, index))")
                    _exit(2)
                }
                let resident = ProcessMemory.residentBytes
                if resident > limitBytes {
                    CrashReport.writeNow("fuzz \(target.name): MEMORY on input \(index) (family \(name)\(known)): RSS "
                        + "\(resident >> 20) MB > \(options.maxRSSMegabytes) MB; its files are in \(scratch.path); "
                        + "rerun: \(options.rerun(target, index))")
                    _exit(3)
                }
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
