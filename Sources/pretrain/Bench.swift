import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Time full training steps of a GPT-2-style model.")
    func run() throws {}
}
