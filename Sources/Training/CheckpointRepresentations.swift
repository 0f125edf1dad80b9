import AudioData
import Foundation
import Probes
import Tensors

/// What `pretrain probe` probes: a checkpoint's frozen encoder, the same architecture with fresh weights (the
/// random-init baseline), or normalised fbank with no model (the fbank baseline).
public enum ProbedRepresentation {
    /// An audio checkpoint (or run directory); `name` labels its results.
    case checkpoint(URL, name: String)
    /// The checkpoint's architecture, statistics and features with weights drawn from `seed`.
    case randomInit(URL, seed: UInt64)
    /// 80-bin fbank, or the features a (fbank) checkpoint's encoder reads.
    case fbank(featuresOf: URL?)
    /// The log constant-Q transform (84 semitone bins).
    case constantQ

    /// The representation, ready to probe. Errors name the checkpoint file at fault.
    public func make() throws -> SpeechRepresentation {
        switch self {
        case .fbank(let checkpoint):
            var options = FbankOptions()
            options.numMelBins = 80
            if let checkpoint, try !isWaveformCheckpoint(checkpoint) { options = try loadAudioEncoder(checkpoint).featureOptions }
            return try FbankRepresentation(options: options)
        case .constantQ:
            return try ConstantQRepresentation()
        case .randomInit(let url, let seed):
            let name = seed == 0 ? "random-init" : "random-init-seed\(seed)"
            if try isWaveformCheckpoint(url) {
                return WaveformEncoderRepresentation(try loadWaveformEncoder(url, randomWeights: true, seed: seed), name: name)
            }
            return try EncoderRepresentation(try loadAudioEncoder(url, randomWeights: true, seed: seed), name: name)
        case .checkpoint(let url, let name):
            if try isWaveformCheckpoint(url) { return WaveformEncoderRepresentation(try loadWaveformEncoder(url), name: name) }
            return try EncoderRepresentation(try loadAudioEncoder(url), name: name)
        }
    }
}

/// A frozen audio encoder as a probe representation: fbank with the checkpoint's options and statistics, then
/// every layer's states along time (`LoadedAudioEncoder.timeStates`: patch states averaged over frequency).
public final class EncoderRepresentation: SpeechRepresentation {
    public let loaded: LoadedAudioEncoder
    let computer: FbankComputer
    public let name: String
    public var layerCount: Int { loaded.encoder.config.layers + 1 }
    public var dimension: Int { loaded.encoder.config.hiddenSize }

    public init(_ loaded: LoadedAudioEncoder, name: String) throws {
        self.loaded = loaded
        self.name = name
        computer = try FbankComputer(options: loaded.featureOptions)
    }

    public func hiddenStates(_ waveform: Waveform) throws -> [Tensor] {
        try loaded.timeStates(try computer.compute(waveform))
    }
}

/// A frozen waveform encoder (wav2vec 2.0) as a probe representation: the 16 kHz samples, normalised per
/// utterance, in; every layer's states, one row per 20 ms, out.
public final class WaveformEncoderRepresentation: SpeechRepresentation {
    public let loaded: LoadedWaveformEncoder
    public let name: String
    public var layerCount: Int { loaded.encoder.config.layers + 1 }
    public var dimension: Int { loaded.encoder.config.hiddenSize }

    public init(_ loaded: LoadedWaveformEncoder, name: String) {
        self.loaded = loaded
        self.name = name
    }

    public func hiddenStates(_ waveform: Waveform) throws -> [Tensor] {
        guard waveform.sampleRate == WaveformCorpus.sampleRate else {
            throw TrainingError("\(name) reads 16 kHz waveforms, got one at \(waveform.sampleRate) Hz")
        }
        return try loaded.timeStates(waveform.samples)
    }
}
