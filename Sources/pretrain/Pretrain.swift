import ArgumentParser
import Distributed
import Foundation
import Training

@main
struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Pre-train, continue and evaluate Transformer models for speech and text on a CPU.",
        subcommands: [
            SysInfo.self,
            Bench.self,
            Report.self,
            Tokenize.self,
            Features.self,
            KMeans.self, RVQ.self,
            Train.self,
            BEATs.self,
            Stages.self,
            Distill.self,
            Skills.self,
            Anneal.self,
            Predict.self,
            Eval.self,
            Evaluate.self,
            Flatness.self,
            Probe.self,
            ProbeTable.self,
            Finetune.self,
            FinetuneText.self,
            Generate.self,
            Export.self,
            Grow.self,
            Merge.self,
            DataCommands.self,
            TTS.self,
            Curate.self,
            Tasks.self,
            Study.self,
            Fuzz.self,
        ])

    @Flag(help: "Show the version, the build and the matrix backend, and exit.")
    var version = false

    func run() throws {
        guard version else { throw CleanExit.helpRequest(self) }
        print(versionDescription())
    }

    /// ArgumentParser answers a misspelt subcommand with "Unexpected argument 'trian'"; this says which was meant.
    static func main() {
        if let typo = misspeltSubcommand(Array(CommandLine.arguments.dropFirst())) { exit(withError: ValidationError(typo)) }
        // Under mpirun every rank joins the MPI world first; a rank that fails exits non-zero without finalising,
        // and mpirun then ends the other ranks (an error on one rank stops the job, never a hang in a collective).
        do { try World.start() } catch { exit(withError: ValidationError("cannot start MPI: \(error)")) }
        // Rank 0 prints the results; the other ranks' standard output would repeat them (their errors still show).
        if World.current.rank != 0 {
            let null = open("/dev/null", O_WRONLY)
            if null >= 0 { dup2(null, STDOUT_FILENO) }
        }
        main(nil)
        World.finish()
    }

    /// "unknown command 'trian' (did you mean 'train'?)" when an argument in a subcommand's place names none but
    /// nearly names one; nil otherwise (ArgumentParser then parses and reports as usual).
    static func misspeltSubcommand(_ arguments: [String]) -> String? {
        var (command, words): (ParsableCommand.Type, [String]) = (Pretrain.self, ["pretrain"])
        for argument in arguments {
            let configuration = command.configuration
            guard !configuration.subcommands.isEmpty, configuration.defaultSubcommand == nil, !argument.hasPrefix("-"),
                  argument != "help" else { return nil }
            let named = configuration.subcommands.map { ($0, [$0._commandName] + $0.configuration.aliases) }
            if let (subcommand, _) = named.first(where: { $0.1.contains(argument) }) {
                (command, words) = (subcommand, words + [argument])
                continue
            }
            guard let nearest = nearestName(to: argument, among: named.map { $0.1[0] }) else { return nil }
            return "unknown command '\(words.joined(separator: " ")) \(argument)' (did you mean '\(nearest)'?)"
        }
        return nil
    }
}
