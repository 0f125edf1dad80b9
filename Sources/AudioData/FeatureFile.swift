import Foundation
import SafeTensors

/// `pretrain features fbank|mfcc`: the features of an audio file, or of every audio file under a directory, in one
/// safetensors file (a (frames, dims) tensor per file, keyed by its relative path), with optional per-dimension
/// statistics over all frames.
public struct FeatureFile {
    /// What the features are ("fbank", "mfcc") and the options that made them, both kept in the file's metadata.
    public var kind: String
    public var options: String
    public var dimension: Int
    /// Audio is resampled to this rate first.
    public var sampleRate: Int
    /// Feature matrices of a batch of waveforms, in order (computed in parallel by the caller's computer).
    public var compute: ([[Float]]) -> [FeatureMatrix]

    public init(kind: String, options: String, dimension: Int, sampleRate: Int, compute: @escaping ([[Float]]) -> [FeatureMatrix]) {
        (self.kind, self.options, self.dimension, self.sampleRate, self.compute) = (kind, options, dimension, sampleRate, compute)
    }

    /// What a write did.
    public struct Summary {
        public var files: Int
        public var seconds: Double
        public var frames: Int
        /// Files of a directory that could not be decoded (a single file given by name fails the write instead).
        public var skipped: [AudioCorpus.Skipped]
    }

    /// No file under the input directory could be decoded.
    public struct NothingDecoded: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Loads `input`'s audio, computes features 64 files at a time, writes `out` (and the statistics to `statistics`).
    /// Throws when a single input file cannot be decoded, or when no file under a directory can; `skippedFile`
    /// hears of each file skipped before that.
    public func write(input: URL, to out: URL, statistics: URL? = nil,
                      skippedFile: (AudioCorpus.Skipped) -> Void = { _ in }) throws -> Summary {
        let corpus = try AudioCorpus(input)
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: input.path, isDirectory: &isDirectory)

        var writer = SafeTensorsWriter(metadata: ["features": kind, "options": options])
        var accumulator = FeatureStatisticsAccumulator(dimension: dimension)
        var pending: [(key: String, samples: [Float])] = []
        var frames = 0, seconds = 0.0
        func flush() throws {
            for (file, features) in zip(pending, compute(pending.map(\.samples))) {
                try writer.add(file.key, shape: features.shape, floats: features.values)
                try accumulator.add(features)
                frames += features.frameCount
            }
            pending.removeAll()
        }
        let skipped = try corpus.forEachWaveform(sampleRate: sampleRate) { file, waveform in
            pending.append((file.key, waveform.samples))
            seconds += waveform.duration
            if pending.count == 64 { try flush() }
        }
        try flush()
        if let failure = skipped.first, !isDirectory.boolValue { throw failure.error }
        skipped.forEach(skippedFile)
        let written = corpus.files.count - skipped.count
        guard written > 0 else {
            throw NothingDecoded(message: "no file under \(input.relativePath) could be decoded (\(skipped.count) skipped)")
        }
        try writer.write(to: out)
        if let statistics {
            try accumulator.normalization().write(to: statistics, metadata: ["features": kind, "options": options])
        }
        return Summary(files: written, seconds: seconds, frames: frames, skipped: skipped)
    }
}
