import AudioData
import Foundation
import Layers
import Objectives
import SafeTensors
import Tensors

/// The files an audio checkpoint holds besides the weights, and the helpers of the audio objectives' factories.
public enum AudioPretraining {
    /// The feature corpus' statistics, copied into every checkpoint (never constants in code).
    public static let normalizationFile = "normalization.safetensors"
    /// The FbankOptions the features were computed with (torchaudio keyword names).
    public static let featureOptionsFile = "features.json"
    /// Waveform encoders: the sample rate and the per-utterance normalisation their input had.
    public static let waveformFile = "waveform.json"

    /// Writes waveform.json: what a waveform encoder's input was (16 kHz, each utterance normalised on its own).
    static func writeWaveformFile(to directory: URL) throws {
        let description = ["sample_rate": "\(WaveformCorpus.sampleRate)", "normalization": "utterance"]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(description).write(to: directory.appendingPathComponent(waveformFile))
    }

    /// Copies the corpus' statistics and writes its feature options into a checkpoint directory.
    static func writeFeatureFiles(_ corpus: FeatureCorpus, to directory: URL) throws {
        try FileManager.default.copyItem(at: corpus.normalizationURL, to: directory.appendingPathComponent(normalizationFile))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(corpus.info.options).write(to: directory.appendingPathComponent(featureOptionsFile))
    }
}

/// An audio checkpoint's encoder, ready for probes: frozen, in evaluation mode, with the statistics and feature
/// options its inputs need.
public struct LoadedAudioEncoder {
    public let encoder: AudioEncoder
    public let normalization: FeatureNormalization
    public let featureOptions: FbankOptions
    public let config: CheckpointConfig
    public let directory: URL

    /// `loadAudioEncoder` builds it from a checkpoint; tests build one from weights they hold.
    public init(encoder: AudioEncoder, normalization: FeatureNormalization, featureOptions: FbankOptions,
                config: CheckpointConfig, directory: URL) {
        self.encoder = encoder
        self.normalization = normalization
        self.featureOptions = featureOptions
        self.config = config
        self.directory = directory
    }

    /// Raw fbank matrices (as `FbankComputer` gives them) → normalised, zero-padded (B, T, F) and every layer's
    /// states with the padding mask. Throws when a matrix has another dimension than the encoder's.
    public func hiddenStates(_ features: [FeatureMatrix]) throws -> AudioEncoderOutput {
        guard !features.isEmpty else { throw TrainingError("no feature matrices to encode") }
        let dimension = encoder.config.featureDimension
        let longest = features.map(\.frameCount).max()!
        guard longest <= encoder.config.maxFrames else {
            throw TrainingError("an input of \(longest) frames exceeds the \(encoder.config.maxFrames) the encoder's positions cover "
                + "(timeStates encodes long inputs in windows)")
        }
        let batch = Tensor(zeros: [features.count, longest, dimension])
        for (row, matrix) in features.enumerated() {
            let normalized = try normalization.normalize(matrix)
            normalized.values.withUnsafeBufferPointer { values in
                (batch.data + row * longest * dimension).update(from: values.baseAddress!, count: values.count)
            }
        }
        return noGrad { encoder(batch, lengths: features.map(\.frameCount)) }
    }

    /// One utterance's states along time, as a probe reads them: `layers + 1` tensors (T', C). A frame encoder's
    /// positions are time steps already; a patch encoder's are averaged over each time column's frequency rows.
    /// An utterance longer than the position table is encoded in consecutive windows (each a multiple of the
    /// encoder's time unit) whose states are joined along time; a tail shorter than one unit is left out.
    public func timeStates(_ features: FeatureMatrix) throws -> [Tensor] {
        let limit = encoder.config.maxFrames
        guard features.frameCount > limit else { return try statesAlongTime(features) }
        let unit = encoder.timeUnit
        let windows = (features.frameCount + limit - 1) / limit
        let size = min(limit / unit * unit, ((features.frameCount + windows - 1) / windows + unit - 1) / unit * unit)
        var pieces: [[Tensor]] = []
        var start = 0
        while features.frameCount - start >= unit {
            let end = min(start + size, features.frameCount)
            let window = FeatureMatrix(frameCount: end - start, dimension: features.dimension,
                                       values: Array(features.values[(start * features.dimension)..<(end * features.dimension)]))
            pieces.append(try statesAlongTime(window))
            start = end
        }
        return (0..<pieces[0].count).map { layer in noGrad { concat(pieces.map { $0[layer] }, axis: 0) } }
    }

    private func statesAlongTime(_ features: FeatureMatrix) throws -> [Tensor] {
        let states = try hiddenStates([features]).hiddenStates
        let rows = encoder.frequencyRows
        return states.map { state in
            let (positions, channels) = (state.size(1), state.size(2))
            let steps = state.reshaped([positions / rows, rows, channels])
            return rows == 1 ? steps.reshaped([positions, channels]) : noGrad { mean(steps, axes: [1]) }
        }
    }
}

/// Loads the encoder of an audio checkpoint (a checkpoint directory or a run directory's newest), with its
/// normalisation statistics and feature options. Throws naming the file that is missing or does not fit.
/// `randomWeights`: the same architecture, statistics and features with freshly initialised weights (seeded), the
/// random-init baseline of the probes.
public func loadAudioEncoder(_ url: URL, randomWeights: Bool = false, seed: UInt64 = 0) throws -> LoadedAudioEncoder {
    let directory = try Checkpoint.resolve(url)
    let config = try CheckpointConfig.read(directory.appendingPathComponent(Checkpoint.configFile))
    guard config.model.flavor.isAudio else {
        throw CheckpointError("\(directory.path): a \(config.model.flavor.rawValue) checkpoint, not an audio encoder")
    }
    guard !config.model.flavor.synthesisesSpeech else {
        throw CheckpointError("\(directory.path): a text-to-speech model (\(config.model.flavor.rawValue)), not an audio encoder; "
            + "use it with pretrain tts say or tts judge")
    }
    guard config.model.flavor != .audioWaveform else {
        throw CheckpointError("\(directory.path): a waveform encoder (audio_waveform), which reads samples, not fbank features; "
            + "pretrain probe and finetune take it, a teacher for kmeans or HuBERT/BEATs targets must be an fbank encoder")
    }
    let statistics = directory.appendingPathComponent(AudioPretraining.normalizationFile)
    guard FileManager.default.fileExists(atPath: statistics.path) else {
        throw CheckpointError("\(statistics.path): missing; an audio checkpoint keeps its feature statistics here")
    }
    let normalization = try FeatureNormalization(contentsOf: statistics)
    let optionsURL = directory.appendingPathComponent(AudioPretraining.featureOptionsFile)
    let options: FbankOptions
    do {
        options = try JSONDecoder().decode(FbankOptions.self, from: Data(contentsOf: optionsURL))
    } catch {
        throw CheckpointError("\(optionsURL.path): cannot read the feature options: \(error)")
    }
    var generator = RandomGenerator(seed: seed)
    let weights = directory.appendingPathComponent(Checkpoint.modelFile)
    let built = try makeModelAndObjective(model: config.model, objective: config.objective,
                                          context: ObjectiveContext(model: config.model, checkpointWeights: weights), generator: &generator)
    guard let objective = built as? FeaturePretrainingObjective else {
        throw CheckpointError("\(directory.path): objective \(config.objective.kind.rawValue) does not train an audio encoder over features")
    }
    guard normalization.mean.count == objective.encoder.config.featureDimension else {
        throw CheckpointError("\(statistics.path): statistics of dimension \(normalization.mean.count) for an encoder of "
            + "\(objective.encoder.config.featureDimension) bins")
    }
    try loadFrozen(objective.model, weights: weights, randomWeights: randomWeights)
    return LoadedAudioEncoder(encoder: objective.encoder, normalization: normalization, featureOptions: options,
                              config: config, directory: directory)
}

/// A checkpoint's weights into `model` (kept as initialised with `randomWeights`: the random-init baseline), then
/// evaluation mode and frozen, as probes and teachers use an encoder. Errors name the file.
func loadFrozen(_ model: Module, weights: URL, randomWeights: Bool) throws {
    do {
        if !randomWeights { try model.load(contentsOf: weights) }
    } catch let error as SafeTensorsError {
        throw CheckpointError(error.message)
    } catch {
        throw CheckpointError("\(weights.path): \(error)")
    }
    model.eval()
    model.freeze()
}
