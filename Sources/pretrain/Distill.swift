import ArgumentParser
import Foundation
import Training

/// `pretrain distill …`: what distillation prepares outside a training run.
struct Distill: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Prepare distillation: select the windows a small model finds challenging yet learnable (SALT).",
        discussion: "Distillation itself is a recipe objective: objective.kind: distill with objective.distill.teacher (see recipes/distill-example.yaml).",
        subcommands: [Select.self])

    /// `pretrain distill select SMALL --data CORPUS --context T --fraction F [--skip-hardest S] --out DIR`.
    struct Select: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score a corpus' train windows with a small model and write the challenging-yet-learnable ones as a corpus of their own (SALT's data selection).",
            discussion: """
                Windows of T+1 tokens are ranked by the small model's mean next-token loss; the hardest --skip-hardest \
                share is set aside and the next --fraction of all windows kept, in corpus order. DIR gets the selected \
                train shard, the source's val split and tokenizer, corpus.json and selection.json; up-weight it early in \
                training with data.mixture and data.phases.
                """)

        @Argument(help: "The small model: a decoder checkpoint or run directory.")
        var model: String

        @Option(help: ArgumentHelp("The prepared corpus to score.", valueName: "CORPUS"))
        var data: String

        @Option(help: "Tokens per window (the student's model.context).")
        var context: Int

        @Option(help: "Share of all windows to keep.")
        var fraction: Double

        @Option(name: .customLong("skip-hardest"), help: "Share of the hardest windows to set aside first.")
        var skipHardest: Double = 0.1

        @Option(help: ArgumentHelp("The selected corpus' directory.", valueName: "DIR"))
        var out: String

        func run() throws {
            let loaded = try loadCheckpoint(URL(fileURLWithPath: model))
            guard let decoder = loaded.decoder else { throw TrainingError("\(model): not a decoder; selection scores next-token loss") }
            let selection = SLMDataSelection(context: context, fraction: fraction, skipHardest: skipHardest)
            let summary = try selection.run(model: decoder, source: URL(fileURLWithPath: data), destination: URL(fileURLWithPath: out))
            print(String(format: "selected %d of %d windows into %@ (mean loss %.4f; selected %.4f, from %.4f to %.4f)",
                         summary.selected, summary.windows, out, summary.meanScore, summary.meanSelectedScore,
                         summary.highestKept, summary.lowestKept))
        }
    }
}
