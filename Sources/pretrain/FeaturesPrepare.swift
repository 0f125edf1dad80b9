import ArgumentParser
import AudioData
import Foundation
import Training

/// `pretrain features prepare IN --out DIR`: fbank shards with a train/val split, the train split's normalisation
/// statistics and corpus.json — what an audio recipe's data.features names.
struct PrepareFeatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare", abstract: "Prepare a feature corpus (fbank shards, statistics, split) for audio pre-training.",
        discussion: """
            The split follows IN/manifest.jsonl when present (its path and split fields; test and other splits are held \
            out), else a seeded hash of each file's path sends --val-fraction of the files to val. Files that cannot be \
            decoded are reported and skipped. A file of bad audio (NaN or infinite samples, a sample rate outside \
            1–384 kHz, longer than 4 hours) is an error, or skipped and counted with --skip-bad-audio. \
            --where keeps the utterances whose manifest fields match (a filter that keeps no val utterance splits its \
            utterances by the hash). \
            Example: pretrain features prepare data/speech/pretrain --out data/speech-fbank (the unlabelled subset: data/speech itself would put the probes' labelled audio into pre-training); \
            pretrain features prepare data/speech --where subset=pretrain --where gender=male,female --max-per-value 300 --out data/speech-balanced
            """)

    @OptionGroup var arguments: FeatureArguments
    @Option(name: .customLong("val-fraction"), help: "Fraction of files sent to val when there is no manifest.")
    var valFraction = 0.05
    @Option(help: "Seed of the hash split.") var seed: UInt64 = 0
    @Flag(name: .customLong("skip-bad-audio"), help: "Skip and count files of bad audio instead of stopping at the first.")
    var skipBadAudio = false
    @Option(name: .customLong("where"), help: "FIELD=VALUE[,VALUE…]: only utterances whose manifest field is one of the values (repeatable: all must hold).")
    var filters: [String] = []
    @Option(help: "fbank, or cqt: the log constant-Q transform of the same frames (MERT's targets, data.targets).")
    var kind = "fbank"
    @Option(name: .customLong("cqt-bins"), help: "With --kind cqt: semitone bins from C1 (84: seven octaves).") var cqtBins = 84
    @Option(name: .customLong("max-per-value"), help: "With --where: at most this many utterances per value of the last --where's field (a balanced corpus).")
    var maxPerValue: Int?

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
        options.skipBadAudio = skipBadAudio
        options.filters = try filters.map { try ManifestFilter(parsing: $0) }
        options.maxPerValue = maxPerValue
        guard let kind = FeatureCorpusPreparation.FeatureKind(rawValue: kind) else {
            throw ValidationError("--kind must be fbank or cqt, got '\(self.kind)'")
        }
        (options.kind, options.constantQBins) = (kind, cqtBins)
        let start = Date()
        let progress = TaskProgress("features prepare", unit: "files")
        let info = try FeatureCorpusPreparation.prepare(input: URL(fileURLWithPath: arguments.input),
                                                        output: URL(fileURLWithPath: arguments.out), options: options,
                                                        log: { progress.message($0) },
                                                        progress: { progress.update(Double($0), of: Double($1)) })
        progress.finish()
        let bad = info.skippedBadAudio ?? 0
        print(String(format: "%@ corpus %@: train %d utterances (%d frames), val %d (%d frames) × %d bins; split by %@; "
                     + "held out %d; skipped %d undecodable%@; %.1f s",
                     info.features, arguments.out, info.train.utterances, info.train.frames, info.val.utterances, info.val.frames,
                     info.dimension, info.splitSource, info.heldOut, info.skipped - bad,
                     skipBadAudio ? ", \(bad) bad audio" : "", Date().timeIntervalSince(start)))
    }
}
