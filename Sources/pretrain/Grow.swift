import ArgumentParser
import Foundation
import Training

/// `pretrain grow CKPT --layers L --d-model D [--heads H] [--mlp-hidden M] --method fpi|aki|stack --out DIR`:
/// a checkpoint grown into a bigger model (bert2BERT), written as a checkpoint directory to start runs from.
struct Grow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grow",
        abstract: "Grow a gpt2, llama or bert checkpoint into a wider and deeper one (bert2BERT) to train on with --init-from.",
        discussion: """
            fpi keeps the function when each width grows by an integer multiple (approximately otherwise) and, for \
            gpt2 and llama, adds layers that start as the identity; aki fills a layer's added units from the layer \
            above; stack widens as fpi and stacks copies of the layers. Train the result with a recipe of the grown \
            sizes: pretrain train RECIPE --init-from DIR.
            """)

    @Argument(help: "A checkpoint directory, or a run directory (its newest complete checkpoint).")
    var checkpoint: String

    @Option(help: "Layers of the grown model (at least the checkpoint's).")
    var layers: Int

    @Option(name: .customLong("d-model"), help: "Width of the grown model (at least the checkpoint's).")
    var dModel: Int

    @Option(help: "Attention heads (default: d-model / the checkpoint's head dimension, which growth keeps).")
    var heads: Int?

    @Option(name: .customLong("mlp-hidden"), help: "Feed-forward width (default: the checkpoint's, scaled with d-model).")
    var mlpHidden: Int?

    @Option(help: "fpi, aki or stack.")
    var method: String

    @Option(help: "Checkpoint directory to write (replaced if it exists).")
    var out: String

    @Option(help: "Seeds which old units the added units copy.")
    var seed: UInt64 = 0

    func run() throws {
        let options = GrowthOptions(layers: layers, dModel: dModel, heads: heads, mlpHidden: mlpHidden,
                                    method: try GrowthMethod(named: method), seed: seed)
        let grown = try growCheckpoint(URL(fileURLWithPath: checkpoint), options: options, to: URL(fileURLWithPath: out))
        func shape(_ section: ModelSection) -> String {
            "\(section.layers) layers, d_model \(section.dModel), \(section.heads) heads"
        }
        print("grew \(grown.source.path) (\(shape(grown.sourceSection)), \(grown.sourceParameters) parameters) by \(method) "
              + "into \(grown.directory.path) (\(shape(grown.section)), \(grown.parameters) parameters)")
    }
}
