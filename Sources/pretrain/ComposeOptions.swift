import ArgumentParser
import Composition
import Foundation

/// `--compose EXPR --model NAME=PATH …`: decoders combined in log-probability space instead of one checkpoint
/// (generate, eval, evaluate).
struct ComposeOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "A composition of decoders sharing one tokenizer, in log-probability space, e.g. "
            + "\"large_base + 1.0*(small_tuned - small_base)\" (emulated fine-tuning); each name bound by --model.",
        valueName: "EXPR"))
    var compose: String?

    @Option(name: .customLong("model"), help: ArgumentHelp("Binds a name of --compose to a checkpoint or run directory (repeatable).",
                                                           valueName: "NAME=PATH"))
    var models: [String] = []

    /// The composition, when --compose is given; a checkpoint argument and --compose exclude each other.
    func load(checkpoint: String?) throws -> ComposedCheckpoints? {
        guard let compose else {
            guard models.isEmpty else { throw CompositionError("--model binds a name of --compose, which is missing") }
            guard checkpoint != nil else { throw CompositionError("give a checkpoint, or --compose with --model bindings") }
            return nil
        }
        if let checkpoint { throw CompositionError("give a checkpoint (\(checkpoint)) or --compose, not both") }
        return try ComposedCheckpoints(expression: compose, bindings: models)
    }
}
