import ArgumentParser
import Foundation
import Fuzzing

/// `pretrain fuzz PARSER --seconds N [--inputs K] --seed S`: one parser's structured fuzzer in this process (see `FuzzRunner`).
/// Prints one summary line and exits 0; a trap kills the process (the parent sees the signal), a hang exits 2, the
/// RSS bound exits 3, each after a line naming the input and the command that makes it again.
struct Fuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Fuzz one input parser with seeded structured mutations (every input must parse or fail with one line).",
        discussion: "Parsers: " + FuzzTargets.all.map { "\($0.name): \($0.parses)" }.joined(separator: "; ") + ".")

    @Argument(help: "The parser: \(FuzzTargets.names.joined(separator: ", ")).") var parser: String
    @Option(help: "How long to fuzz (default 10 s, or no limit with --inputs).") var seconds: Double?
    @Option(help: "Stop after this many inputs (with --seconds: whichever comes first).") var inputs: Int?
    @Option(help: "The session's seed: input K of seed S is always the same input.") var seed: UInt64 = 0
    @Option(name: .customLong("max-rss-mb"), help: "Resident memory bound in MB (exit 3 past it).") var maxRSSMB = 2048
    @Option(name: .customLong("max-input-seconds"), help: "Time one input may take (exit 2 past it: a hang).")
    var maxInputSeconds = 10.0
    @Flag(name: .customLong("skip-known"), help: "Leave out the mutation families that hit open issue items.")
    var skipKnown = false
    @Option(help: "Only this mutation family.") var family: String?
    @Flag(name: .customLong("check-seeds"), help: "Parse the unmutated seeds and print how each ended (each must be accepted).")
    var checkSeeds = false
    @Option(help: "Parse only input K of the seed and print how it ended (a rerun).") var input: Int?
    @Option(name: .customLong("save-input"), help: "With --input: write the input's files into this directory.")
    var saveInput: String?

    func validate() throws {
        guard FuzzTargets.named(parser) != nil else {
            throw ValidationError("unknown parser '\(parser)' (parsers: \(FuzzTargets.names.joined(separator: ", ")))")
        }
        guard seconds ?? 1 > 0, inputs ?? 1 > 0, maxInputSeconds > 0, maxRSSMB > 0 else {
            throw ValidationError("limits must be positive")
        }
        if saveInput != nil && input == nil { throw ValidationError("--save-input needs --input") }
        let target = FuzzTargets.named(parser)!
        let usable = target.families.filter { !skipKnown || $0.knownIssue == nil }.map(\.name)
        if let family, !usable.contains(family) {
            let scope = skipKnown ? " outside the known issues" : ""
            throw ValidationError("no family '\(family)' of \(parser)\(scope) (families: \(usable.joined(separator: ", ")))")
        }
    }

    func run() throws {
        var options = FuzzOptions()
        options.seconds = seconds ?? (inputs == nil ? 10 : .infinity)
        options.maxInputs = inputs
        options.seed = seed
        options.maxRSSMegabytes = maxRSSMB
        options.maxInputSeconds = maxInputSeconds
        options.skipKnown = skipKnown
        options.family = family
        let target = FuzzTargets.named(parser)!
        let runner = FuzzRunner(target: target, options: options)
        if checkSeeds {
            for (index, outcome) in runner.parseSeeds().enumerated() { print("fuzz \(parser): seed \(index): \(outcome)") }
            return
        }
        if let input {
            let (family, outcome) = try runner.runOne(input, save: saveInput.map { URL(fileURLWithPath: $0) })
            print("fuzz \(parser): input \(input) (family \(family.name)): \(outcome)")
            return
        }
        let summary = try runner.run()
        if let first = summary.firstFinding { print("first finding: \(first)") }
        if let first = summary.firstUnclearError { print("first error not on one line: \(first)") }
        print(summary.line)
        if summary.peakRSSBytes > maxRSSMB << 20 {
            print("fuzz \(parser): peak RSS \(summary.peakRSSBytes >> 20) MB exceeds --max-rss-mb \(maxRSSMB)")
            throw ExitCode(3)
        }
    }
}
