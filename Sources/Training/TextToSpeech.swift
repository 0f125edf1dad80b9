import AudioData
import Foundation
import Layers
import Objectives
import SpeechSynthesis
import Tensors

/// A FastSpeech checkpoint ready to speak: the model, its tts.json (phoneme inventory, mel settings) and the
/// Griffin-Lim vocoder of those mel settings. `pretrain tts say` is `load` then `say`.
public struct TextToSpeech: SpeechSynthesizer {
    public let directory: URL
    public let model: FastSpeechModel
    public let info: TTSCorpus.Info
    public let vocoder: GriffinLimVocoder
    public var melOptions: TTSMelOptions { info.mel }

    /// A checkpoint directory, or a run directory's newest complete checkpoint.
    public static func load(_ url: URL, griffinLimIterations: Int = 32) throws -> TextToSpeech {
        let directory = try Checkpoint.resolve(url)
        let config = try CheckpointConfig.read(directory.appendingPathComponent(Checkpoint.configFile))
        guard config.model.flavor == .fastSpeech else {
            throw CheckpointError("\(directory.path): model.flavor is \(config.model.flavor.rawValue); tts needs a fastspeech checkpoint")
        }
        let info: TTSCorpus.Info
        do { info = try TTSCorpus.Info.load(directory) } catch let error as AudioError { throw CheckpointError(error.message) }
        var generator = RandomGenerator(seed: 0)
        let model = FastSpeechModel(config.model.fastSpeechConfig, generator: &generator)
        try loadFrozen(model, weights: directory.appendingPathComponent(Checkpoint.modelFile), randomWeights: false)
        let vocoder: GriffinLimVocoder
        do { vocoder = try GriffinLimVocoder(options: info.mel, iterations: griffinLimIterations) } catch let error as AudioError {
            throw CheckpointError("\(directory.appendingPathComponent(TTSCorpus.Info.fileName).path): \(error.message)")
        }
        return TextToSpeech(directory: directory, model: model, info: info, vocoder: vocoder)
    }

    /// What `say` made: the waveform at info.mel.sampleRate, the log-mel frames and each phoneme's frames.
    public struct Speech {
        public var samples: [Float]
        public var mel: FeatureMatrix
        public var phonemes: [String]
        public var durations: [Int]
        /// Seconds of compute per second of audio (mel and vocoder together).
        public var realTimeFactor: Double
        /// A generated sequence that filled the model's context before it ended (token-based synthesis).
        public var truncated = false
    }

    /// Phoneme tokens → speech. An unknown phoneme is an error naming it.
    public func say(phonemes: [String], pace: Float) throws -> Speech {
        guard !phonemes.isEmpty else { throw CheckpointError("nothing to say: the text has no phonemes") }
        let start = Date()
        let ids: [Int32]
        do { ids = try info.ids(phonemes, what: "the text") } catch let error as AudioError { throw CheckpointError(error.message) }
        let (mel, durations) = model.synthesize(ids, pace: pace)
        return try speech(frames: FeatureMatrix(frameCount: mel.size(0), dimension: mel.size(1), values: mel.scalars),
                          phonemes: phonemes, durations: durations, since: start)
    }

    public func resynthesize(_ mel: FeatureMatrix) -> FeatureMatrix? { nil }

    /// The inverse STFT's reflect padding needs more than n_fft/2 samples: a very short utterance is padded with
    /// silence.
    static func padded(_ frames: FeatureMatrix, options: TTSMelOptions) -> FeatureMatrix {
        let shortest = options.fftSize / (2 * options.hopLength) + 2
        guard frames.frameCount < shortest else { return frames }
        let silence = [Float](repeating: Float(log(options.logFloor)), count: (shortest - frames.frameCount) * frames.dimension)
        return FeatureMatrix(frameCount: shortest, dimension: frames.dimension, values: frames.values + silence)
    }

    /// Samples in −1…1 → a 16-bit WAV at the model's rate (clipped, written atomically).
    public static func writeWAV(_ samples: [Float], sampleRate: Int, to url: URL) throws {
        let pcm = samples.map { Int16(max(-1, min(1, $0)) * 32_767) }
        try WAVFile.write(pcm, sampleRate: sampleRate, to: url)
    }
}
