import AudioData
import Foundation
import Layers
import Objectives
import SafeTensors
import Tensors

/// A waveform checkpoint's encoder (wav2vec 2.0), ready for probes: frozen, in evaluation mode.
public struct LoadedWaveformEncoder {
    public let encoder: Wav2Vec2Model
    public let config: CheckpointConfig
    public let directory: URL

    /// One utterance's states along time as a probe reads them: `layers + 1` tensors (T', C), one row per 20 ms.
    /// The samples (16 kHz) are normalised to zero mean and unit variance first, as in training. Throws when the
    /// utterance is shorter than the feature encoder's 25 ms receptive field.
    public func timeStates(_ samples: [Float]) throws -> [Tensor] {
        let frames = encoder.featureEncoderConfig.frames(samples: samples.count)
        guard frames >= 1 else {
            throw TrainingError("an utterance of \(samples.count) samples is shorter than the feature encoder's receptive field")
        }
        let batch = Tensor(normalizedWaveform(samples), shape: [1, samples.count, 1])
        let states = noGrad { encoder(batch, lengths: [samples.count]).hiddenStates }
        return states.map { $0.reshaped([$0.size(1), $0.size(2)]) }
    }
}

/// Whether an audio checkpoint (or run directory) holds a waveform encoder (model.flavor audio_waveform).
public func isWaveformCheckpoint(_ url: URL) throws -> Bool {
    let directory = try Checkpoint.locate(url)
    return try CheckpointConfig.read(directory.appendingPathComponent(Checkpoint.configFile)).model.flavor == .audioWaveform
}

/// Loads the encoder of a waveform checkpoint (a checkpoint directory or a run directory's newest). Throws naming
/// the file that is missing or does not fit. `randomWeights`: the same architecture freshly initialised (seeded),
/// the random-init baseline of the probes.
public func loadWaveformEncoder(_ url: URL, randomWeights: Bool = false, seed: UInt64 = 0) throws -> LoadedWaveformEncoder {
    let directory = try Checkpoint.resolve(url)
    let config = try CheckpointConfig.read(directory.appendingPathComponent(Checkpoint.configFile))
    guard config.model.flavor == .audioWaveform else {
        throw CheckpointError("\(directory.path): a \(config.model.flavor.rawValue) checkpoint, not a waveform encoder"
            + (config.model.flavor.isAudio ? " (an encoder of fbank features)" : ""))
    }
    let description = directory.appendingPathComponent(AudioPretraining.waveformFile)
    guard let data = try? Data(contentsOf: description),
          let fields = try? JSONDecoder().decode([String: String].self, from: data),
          fields["sample_rate"] == "\(WaveformCorpus.sampleRate)", fields["normalization"] == "utterance" else {
        throw CheckpointError("\(description.path): missing or not a 16 kHz per-utterance description of the encoder's input")
    }
    var generator = RandomGenerator(seed: seed)
    let weights = directory.appendingPathComponent(Checkpoint.modelFile)
    let objective = try makeModelAndObjective(model: config.model, objective: config.objective,
                                              context: ObjectiveContext(model: config.model, checkpointWeights: weights), generator: &generator)
    guard let model = (objective as? Wav2Vec2)?.pretrainingModel else { throw CheckpointError("\(directory.path): not a waveform wav2vec 2.0 model") }
    try loadFrozen(model, weights: weights, randomWeights: randomWeights)
    return LoadedWaveformEncoder(encoder: model.wav2vec2, config: config, directory: directory)
}
