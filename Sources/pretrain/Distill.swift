import ArgumentParser
import Foundation
import Layers
import Training

/// `pretrain distill …`: what distillation prepares outside a training run.
struct Distill: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Prepare distillation: cache a teacher's top-k soft labels; select the windows a small model finds challenging yet learnable (SALT).",
        discussion: "Distillation itself is a recipe objective: objective.kind: distill with objective.distill.teacher (see recipes/distill-example.yaml).",
        subcommands: [Cache.self, Select.self])

    /// `pretrain distill cache TEACHER --data CORPUS --context T --top-k K --out DIR`.
    struct Cache: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a decoder teacher once over a corpus' train windows and keep its top-k next-token log-probabilities for objective.distill.cache.",
            discussion: """
                The windows are those sequential sampling draws at context T (T+1 tokens every T); a student reads the \
                cache with data.sampling: sequential on the same corpus and context. DIR takes about W·T·K·8 bytes \
                (W windows); it is written beside DIR and renamed into place.
                """)

        @Argument(help: "The teacher: a decoder checkpoint, run directory or Hugging Face directory.")
        var teacher: String

        @Option(help: ArgumentHelp("The prepared corpus (the student's data.corpus).", valueName: "CORPUS"))
        var data: String

        @Option(help: "Tokens per window (the student's model.context).")
        var context: Int

        @Option(name: .customLong("top-k"), help: "Log-probabilities kept per position.")
        var topK: Int = 16

        @Option(help: ArgumentHelp("The cache directory.", valueName: "DIR"))
        var out: String

        func run() throws {
            guard let decoder = try loadTextModel(URL(fileURLWithPath: teacher)).model as? GPTModel else {
                throw TrainingError("\(teacher): not a decoder; the cache holds next-token soft labels")
            }
            let progress = TaskProgress("distill cache", unit: "windows")
            let header = try TeacherCache.write(teacher: decoder, teacherPath: teacher, corpus: URL(fileURLWithPath: data), context: context,
                                                topK: topK, out: URL(fileURLWithPath: out)) { done, total in progress.update(Double(done), of: Double(total)) }
            progress.finish()
            print("cached the top \(header.topK) of \(header.windows) windows × \(header.context) positions into \(out)")
        }
    }

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
