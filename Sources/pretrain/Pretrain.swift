import ArgumentParser

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
            KMeans.self,
            Train.self,
            BEATs.self,
            Anneal.self,
            Predict.self,
            Eval.self,
            Probe.self,
            ProbeTable.self,
            Finetune.self,
            Generate.self,
            Export.self,
            DataCommands.self,
            Study.self,
            Fuzz.self,
        ])
}
