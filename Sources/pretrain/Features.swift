import ArgumentParser
import AudioData
import Foundation

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
    @Option(help: "Output: a safetensors file (fbank, mfcc) or a directory (prepare).") var out: String
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

    /// Writes OUT (and the statistics) with `FeatureFile`; a file of a directory that cannot be decoded is
    /// reported and skipped.
    func run(kind: String, description: String, dimension: Int, compute: @escaping ([[Float]]) -> [FeatureMatrix]) throws {
        let file = FeatureFile(kind: kind, options: description, dimension: dimension, sampleRate: sampleRate, compute: compute)
        let start = Date()
        let summary: FeatureFile.Summary
        do {
            summary = try file.write(input: URL(fileURLWithPath: input), to: URL(fileURLWithPath: out),
                                     statistics: stats.map { URL(fileURLWithPath: $0) }, skippedFile: { print("skipped \($0.reason)") })
        } catch let error as FeatureFile.NothingDecoded {
            throw ValidationError(error.message)
        }
        print(String(format: "%@: %d files (%.1f s of audio, %d frames × %d) → %@ in %.1f s; skipped %d undecodable",
                     kind, summary.files, summary.seconds, summary.frames, dimension, out, Date().timeIntervalSince(start),
                     summary.skipped.count))
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
