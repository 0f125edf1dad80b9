import AudioData
import Foundation
import SpeechSynthesis

/// What speaks phonemes: a FastSpeech checkpoint (`TextToSpeech`) or a speech-unit LM (`UnitTextToSpeech`). The
/// judges and `pretrain tts say` read any of them.
public protocol SpeechSynthesizer {
    var directory: URL { get }
    var melOptions: TTSMelOptions { get }
    var vocoder: GriffinLimVocoder { get }
    /// Phoneme tokens (espeak-ng's, as in the training corpus) → speech, every duration times `pace` (> 1 slower) where
    /// the synthesiser predicts durations; an unknown phoneme, or a pace it cannot apply, is an error naming it.
    func say(phonemes: [String], pace: Float) throws -> TextToSpeech.Speech
    /// Real log-mel frames through the synthesiser's own intermediate representation and back (speech units), nil
    /// when it has none.
    func resynthesize(_ mel: FeatureMatrix) -> FeatureMatrix?
}

extension SpeechSynthesizer {
    public func say(phonemes: [String]) throws -> TextToSpeech.Speech { try say(phonemes: phonemes, pace: 1) }

    /// Log-mel frames → the speech `say` returns: padded to the vocoder's shortest input, Griffin-Lim, and the
    /// real-time factor counted from `start`.
    func speech(frames: FeatureMatrix, phonemes: [String], durations: [Int], since start: Date) throws -> TextToSpeech.Speech {
        let mel = TextToSpeech.padded(frames, options: melOptions)
        let samples: [Float]
        do { samples = try vocoder.waveform(logMel: mel) } catch let error as AudioError { throw CheckpointError(error.message) }
        let seconds = Double(samples.count) / Double(melOptions.sampleRate)
        return TextToSpeech.Speech(samples: samples, mel: mel, phonemes: phonemes, durations: durations,
                                   realTimeFactor: seconds > 0 ? Date().timeIntervalSince(start) / seconds : .infinity)
    }

    /// Text → espeak-ng's phonemes (`voice`, as the tts corpus was spoken) → speech.
    public func say(_ text: String, voice: String = "en-us") throws -> TextToSpeech.Speech {
        try say(phonemes: espeakPhonemes(text, voice: voice))
    }
}

/// espeak-ng's phoneme tokens of `text` in `voice`.
public func espeakPhonemes(_ text: String, voice: String) throws -> [String] {
    let tools = try ExternalTools()
    return PhonemeTokens.tokens(espeakIPA: try ExternalTools.run(tools.espeak, ["-q", "--ipa", "--sep=_", "-v", voice], input: text).stdout)
}

/// A checkpoint (or run directory) that speaks: a fastspeech model, else a decoder trained on a speech-unit corpus.
public func loadSpeechSynthesizer(_ url: URL, griffinLimIterations: Int = 32) throws -> any SpeechSynthesizer {
    let directory = try Checkpoint.resolve(url)
    let config = try CheckpointConfig.read(directory.appendingPathComponent(Checkpoint.configFile))
    if config.model.flavor.synthesisesSpeech { return try TextToSpeech.load(directory, griffinLimIterations: griffinLimIterations) }
    return try UnitTextToSpeech.load(directory, griffinLimIterations: griffinLimIterations)
}
