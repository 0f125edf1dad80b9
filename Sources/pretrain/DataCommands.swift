import ArgumentParser

/// `pretrain data …`: commands that make or prepare corpora.
struct DataCommands: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Make or prepare corpora.",
        subcommands: [SynthSpeech.self, SynthMusic.self, Telephone.self])
}
