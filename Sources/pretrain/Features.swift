import ArgumentParser
import AudioData
import Foundation
import SafeTensors

/// `pretrain features fbank|mfcc IN --out OUT.safetensors`: Kaldi-compatible features of an audio file or of every
/// audio file under a directory, one tensor (frames, dims) per file keyed by its relative path.
/// `pretrain features prepare IN --out DIR`: a feature corpus for audio pre-training (recipe key data.features).
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features", abstract: "Compute Kaldi-compatible log-mel filterbanks or MFCCs of audio files.",
        subcommands: [FbankFeatures.self, MFCCFeatures.self, PrepareFeatures.self])
}

/// Options shared by fbank and mfcc (torchaudio.compliance.kaldi names).
struct FeatureArguments: ParsableArguments {
    @Argument(help: "An audio file (WAV, FLAC, OGG, ...) or a directory searched recursively.")
    var input: String
    @Option(help: "Output safetensors file.") var out: String
    @Option(name: .customLong("stats"), help: "Also write per-dimension mean/std over all frames to this safetensors file.")
    var stats: String?
    @Option(name: .customLong("num-mel-bins"), help: "Mel filters.") var numMelBins = 80
    @Option(name: .customLong("frame-length"), help: "Frame length in ms.") var frameLength = 25.0
    @Option(name: .customLong("frame-shift"), help: "Frame shift in ms.") var frameShift = 10.0
    @Option(name: .customLong("sample-rate"), help: "Audio is resampled to this rate (Hz).") var sampleRate = 16_000
    @Option(name: .customLong("low-freq"), help: "Lowest mel filter edge (Hz).") var lowFreq = 20.0
    @Option(name: .customLong("high-freq"), help: "Highest mel filter edge (Hz); ≤ 0 is an offset from Nyquist.") var highFreq = 0.0
    @Option(help: "Window: povey, hanning, hamming, rectangular, blackman.") var window = "povey"
    @Option(help: "Standard deviation of Gaussian dither in 16-bit units (0: none).") var dither: Float = 0
    @Option(help: "Pre-emphasis coefficient.") var preemphasis: Float = 0.97
    @Flag(inversion: .prefixedNo, help: "Only frames that fit in the signal (Kaldi's snip-edges).") var snipEdges = true
    @Flag(name: .customLong("use-energy"), help: "Prepend the log energy.") var useEnergy = false
    @Flag(name: .customLong("float-scale"), help: "Keep samples in [-1, 1) instead of Kaldi's 16-bit scale.") var floatScale = false

    func fbankOptions() throws -> FbankOptions {
        guard let window = FeatureWindow(rawValue: window) else {
            throw ValidationError("unknown window '\(window)'; choose one of \(FeatureWindow.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var options = FbankOptions()
        options.sampleRate = Double(sampleRate)
        options.frameLength = frameLength
        options.frameShift = frameShift
        options.numMelBins = numMelBins
        options.lowFrequency = lowFreq
        options.highFrequency = highFreq
        options.window = window
        options.dither = dither
        options.preemphasis = preemphasis
        options.snipEdges = snipEdges
        options.useEnergy = useEnergy
        if floatScale { options.inputScale = 1 }
        return options
    }

    /// Loads the input's audio, computes features `batchSize` files at a time in parallel, writes OUT (and the
    /// statistics). A single file that cannot be decoded fails the command; in a directory it is reported and skipped.
    func run(kind: String, description: String, dimension: Int, compute: ([[Float]]) -> [FeatureMatrix]) throws {
        let inputURL = URL(fileURLWithPath: input)
        let corpus = try AudioCorpus(inputURL)
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: inputURL.path, isDirectory: &isDirectory)

        var writer = SafeTensorsWriter(metadata: ["features": kind, "options": description])
        var statistics = FeatureStatisticsAccumulator(dimension: dimension)
        var pending: [(key: String, samples: [Float])] = []
        var frames = 0, seconds = 0.0
        func flush() throws {
            for (file, features) in zip(pending, compute(pending.map(\.samples))) {
                try writer.add(file.key, shape: features.shape, floats: features.values)
                try statistics.add(features)
                frames += features.frameCount
            }
            pending.removeAll()
        }
        let start = Date()
        let skipped = try corpus.forEachWaveform(sampleRate: sampleRate) { file, waveform in
            pending.append((file.key, waveform.samples))
            seconds += waveform.duration
            if pending.count == 64 { try flush() }
        }
        try flush()
        if let failure = skipped.first, !isDirectory.boolValue { throw failure.error }
        for file in skipped { print("skipped \(file.reason)") }
        let written = corpus.files.count - skipped.count
        guard written > 0 else { throw ValidationError("no file under \(input) could be decoded (\(skipped.count) skipped)") }
        try writer.write(to: URL(fileURLWithPath: out))
        if let stats {
            try statistics.normalization().write(to: URL(fileURLWithPath: stats), metadata: ["features": kind, "options": description])
        }
        print(String(format: "%@: %d files (%.1f s of audio, %d frames × %d) → %@ in %.1f s; skipped %d undecodable",
                     kind, written, seconds, frames, dimension, out, Date().timeIntervalSince(start), skipped.count))
    }
}

struct FbankFeatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fbank", abstract: "Log-mel filterbanks as torchaudio.compliance.kaldi.fbank computes them.",
        discussion: "Example: pretrain features fbank data/speech --out data/fbank.safetensors --num-mel-bins 80 --stats data/fbank-stats.safetensors")

    @OptionGroup var arguments: FeatureArguments

    func run() throws {
        let options = try arguments.fbankOptions()
        let computer = try FbankComputer(options: options)
        try arguments.run(kind: "fbank", description: options.kaldiArguments, dimension: options.dimension) { computer.compute(batch: $0) }
    }
}

struct MFCCFeatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mfcc", abstract: "MFCCs as torchaudio.compliance.kaldi.mfcc computes them.")

    @OptionGroup var arguments: FeatureArguments
    @Option(name: .customLong("num-ceps"), help: "Cepstral coefficients kept.") var numCeps = 13
    @Option(name: .customLong("cepstral-lifter"), help: "Lifter width (0: none).") var cepstralLifter = 22.0

    func run() throws {
        var options = MFCCOptions()
        options.fbank = try arguments.fbankOptions()
        options.numCeps = numCeps
        options.cepstralLifter = cepstralLifter
        let computer = try MFCCComputer(options: options)
        try arguments.run(kind: "mfcc", description: options.fbank.kaldiArguments + ", num_ceps=\(numCeps), cepstral_lifter=\(cepstralLifter)",
                          dimension: numCeps) { computer.compute(batch: $0) }
    }
}
