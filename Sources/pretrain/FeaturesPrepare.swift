import ArgumentParser
import AudioData
import Foundation

/// `pretrain features prepare IN --out DIR`: fbank shards with a train/val split, the train split's normalisation
/// statistics and corpus.json — what an audio recipe's data.features names.
struct PrepareFeatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare", abstract: "Prepare a feature corpus (fbank shards, statistics, split) for audio pre-training.",
        discussion: """
            The split follows IN/manifest.jsonl when present (its path and split fields; test and other splits are held \
            out), else a seeded hash of each file's path sends --val-fraction of the files to val. Files that cannot be \
            decoded are reported and skipped. Example: pretrain features prepare data/speech --out data/speech-fbank
            """)

    @OptionGroup var arguments: FeatureArguments
    @Option(name: .customLong("val-fraction"), help: "Fraction of files sent to val when there is no manifest.")
    var valFraction = 0.05
    @Option(help: "Seed of the hash split.") var seed: UInt64 = 0

    func validate() throws {
        if arguments.stats != nil {
            throw ValidationError("prepare always writes the statistics to OUT/normalization.safetensors; leave out --stats")
        }
    }

    func run() throws {
        var options = FeatureCorpusPreparation.Options()
        options.fbank = try arguments.fbankOptions()
        options.valFraction = valFraction
        options.seed = seed
        let start = Date()
        let info = try FeatureCorpusPreparation.prepare(input: URL(fileURLWithPath: arguments.input),
                                                        output: URL(fileURLWithPath: arguments.out), options: options) { print($0) }
        print(String(format: "fbank corpus %@: train %d utterances (%d frames), val %d (%d frames) × %d bins; split by %@; "
                     + "held out %d; skipped %d undecodable; %.1f s",
                     arguments.out, info.train.utterances, info.train.frames, info.val.utterances, info.val.frames,
                     info.dimension, info.splitSource, info.heldOut, info.skipped, Date().timeIntervalSince(start)))
    }
}
