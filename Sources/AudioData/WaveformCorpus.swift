import Foundation

/// Raw 16 kHz waveforms in memory, split into train and val, for models that read samples (wav2vec 2.0).
///
/// The split is `pretrain features prepare`'s: IN/manifest.jsonl's `split` field when there is one (train → train;
/// val, valid, validation, dev → val; anything else held out), else a seeded hash of the path sends `valFraction`
/// of the files to val. Each utterance is normalised to zero mean and unit variance, as Hugging Face's
/// Wav2Vec2FeatureExtractor does (do_normalize), so a checkpoint needs no statistics file; probes normalise the same way.
/// An utterance is a (samples, 1) matrix in `FeatureCorpus.Utterance` form, so feature-crop batching applies as is.
public struct WaveformCorpus {
    public static let sampleRate = 16_000

    public var directory: URL
    public var train: [FeatureCorpus.Utterance]
    public var val: [FeatureCorpus.Utterance]
    /// Files that could not be decoded, and how many the manifest held out.
    public var skipped: [String]
    public var heldOut: Int

    public var trainSamples: Int { train.reduce(0) { $0 + $1.frames } }

    /// Loads every audio file under `directory` at 16 kHz. Throws naming the directory when it holds no audio or
    /// nothing lands in train.
    public static func load(_ directory: URL, valFraction: Double = 0.05, seed: UInt64 = 0) throws -> WaveformCorpus {
        let files = try AudioCorpus(directory)
        let splits = try FeatureCorpusPreparation.manifest(in: directory)
        var corpus = WaveformCorpus(directory: directory, train: [], val: [], skipped: [], heldOut: 0)
        let skipped = try files.forEachWaveform(sampleRate: sampleRate) { file, waveform in
            let split = splits.map { $0[file.key] ?? .heldOut }
                ?? FeatureCorpusPreparation.hashSplit(file.key, valFraction: valFraction, seed: seed)
            guard split != .heldOut, !waveform.samples.isEmpty else { corpus.heldOut += 1; return }
            let utterance = FeatureCorpus.Utterance(key: file.key, frames: waveform.samples.count,
                                                    values: normalizedWaveform(waveform.samples))
            if split == .train { corpus.train.append(utterance) } else { corpus.val.append(utterance) }
        }
        corpus.skipped = skipped.map(\.key)
        guard !corpus.train.isEmpty else {
            throw AudioError("\(directory.path): no train utterances (\(corpus.val.count) in val, \(corpus.heldOut) held out, "
                + "\(skipped.count) undecodable)")
        }
        return corpus
    }
}

/// (x − mean) / sqrt(variance + 1e-7) over one utterance (Hugging Face's zero_mean_unit_var_norm).
public func normalizedWaveform(_ samples: [Float]) -> [Float] {
    guard !samples.isEmpty else { return samples }
    var sum = 0.0, squares = 0.0
    for sample in samples { sum += Double(sample) }
    let mean = sum / Double(samples.count)
    for sample in samples { squares += (Double(sample) - mean) * (Double(sample) - mean) }
    let scale = 1 / (squares / Double(samples.count) + 1e-7).squareRoot()
    return samples.map { Float((Double($0) - mean) * scale) }
}
