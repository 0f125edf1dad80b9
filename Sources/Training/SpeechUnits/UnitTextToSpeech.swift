import AudioData
import Foundation
import Layers
import Tensors

/// Token-based text-to-speech (the VALL-E / Pheme family at our scale): a decoder LM trained on `tts` or
/// `tts-aligned` documents of speech units (`SpeechUnitPreparation`) continues `<phonemes> p₁ … p_P <speech>` with
/// one unit per mel frame until it draws end-of-text; the units' centroids are the log-mel frames (the unit-to-mel
/// decoder), and Griffin-Lim makes the audio.
///
/// A model of `tts-aligned` documents is decoded under phoneme-level alignment guidance, the remedy VALL-E R and
/// HAM-TTS apply against skipped and repeated words: inside the speech span the only phoneme token it may draw is the
/// next one of the prompt (its first token is p₁), at least one unit follows each phoneme, and end-of-text is allowed
/// only after the last phoneme has begun. The phonemes therefore come out once each and in order; how long each
/// lasts is still the model's choice. `guided: false` decodes such a model freely, as a `tts` model always is.
public struct UnitTextToSpeech: SpeechSynthesizer {
    public let directory: URL
    public let model: GPTModel
    public let vocabulary: SpeechUnitVocabulary
    public let vocoder: GriffinLimVocoder
    public var guided: Bool
    public var temperature: Float = 1
    public var topK: Int? = 10
    public var seed: UInt64 = 0

    public var melOptions: TTSMelOptions { vocabulary.mel }

    /// A decoder checkpoint (or run directory) trained on a speech-unit corpus: its tokenizer.json is the vocabulary.
    public static func load(_ url: URL, griffinLimIterations: Int = 32) throws -> UnitTextToSpeech {
        let checkpoint = try loadCheckpoint(url)
        guard let model = checkpoint.decoder else {
            throw CheckpointError("\(checkpoint.directory.path): a \(checkpoint.config.model.flavor.rawValue) model; "
                + "token-based TTS needs a decoder (gpt2, llama) trained on a speech-unit corpus")
        }
        guard let tokenizer = checkpoint.tokenizerURL else {
            throw CheckpointError("\(checkpoint.directory.path): no tokenizer.json; a speech-unit LM keeps its vocabulary there")
        }
        let vocabulary = try SpeechUnitVocabulary.read(tokenizer)
        guard let layout = vocabulary.layout, layout == .tts || layout == .ttsAligned else {
            throw CheckpointError("\(checkpoint.directory.path): trained on \(vocabulary.layout?.rawValue ?? "no") speech-unit "
                + "documents; text-to-speech needs a model of the tts or tts-aligned corpus")
        }
        guard model.config.vocabSize == vocabulary.size else {
            throw CheckpointError("\(checkpoint.directory.path): model.vocab_size \(model.config.vocabSize) but the speech-unit "
                + "vocabulary has \(vocabulary.size) tokens")
        }
        let vocoder: GriffinLimVocoder
        do { vocoder = try GriffinLimVocoder(options: vocabulary.mel, iterations: griffinLimIterations) } catch let error as AudioError {
            throw CheckpointError("\(tokenizer.path): \(error.message)")
        }
        return UnitTextToSpeech(directory: checkpoint.directory, model: model, vocabulary: vocabulary, vocoder: vocoder,
                                guided: layout == .ttsAligned)
    }

    /// The generated tokens of one utterance: units, and in guided decoding the phoneme tokens between them.
    public struct Generation {
        public var units: [Int]
        /// Units after each phoneme (guided decoding), else empty.
        public var durations: [Int]
        /// The context filled before end-of-text was drawn.
        public var truncated: Bool
    }

    /// Phoneme tokens (vocabulary ids) → units.
    public func generate(phonemeTokens: [Int32]) -> Generation {
        let prompt = ([SpeechUnitVocabulary.endOfText, SpeechUnitVocabulary.phonemePrompt] + phonemeTokens
            + [SpeechUnitVocabulary.speech]).map(Int.init)
        let room = model.config.contextLength - prompt.count
        guard room > 0 else { return Generation(units: [], durations: [], truncated: true) }
        let units = (0..<vocabulary.unitCount).map { Int(vocabulary.unitBase) + $0 }
        let end = Int(SpeechUnitVocabulary.endOfText)
        // Guided decoding's state: phonemes begun so far, and whether the last token was a phoneme.
        var begun = 0, afterPhoneme = false, seen = 0
        let allowed: ([Int]) -> [Int] = { generated in
            // Catch up with the tokens drawn since the last call (one per step).
            while seen < generated.count {
                let id = Int32(generated[seen])
                if vocabulary.isPhoneme(id) { begun += 1; afterPhoneme = true } else { afterPhoneme = false }
                seen += 1
            }
            if !guided { return units + [end] }
            if begun == 0 { return [Int(phonemeTokens[0])] }
            if afterPhoneme { return units }
            return units + (begun < phonemeTokens.count ? [Int(phonemeTokens[begun])] : [end])
        }
        var generator = RandomGenerator(seed: seed)
        let tokens = model.generate(prompt: prompt, maxTokens: room, temperature: temperature, topK: topK,
                                    generator: &generator, stopToken: end, allowed: allowed)
        var result = Generation(units: [], durations: [], truncated: tokens.count == room)
        for id in tokens.map(Int32.init) {
            if vocabulary.isUnit(id) {
                result.units.append(Int(id - vocabulary.unitBase))
                if guided, !result.durations.isEmpty { result.durations[result.durations.count - 1] += 1 }
            } else if guided, vocabulary.isPhoneme(id) {
                result.durations.append(0)
            }
        }
        return result
    }

    public func say(phonemes: [String]) throws -> TextToSpeech.Speech {
        guard !phonemes.isEmpty else { throw CheckpointError("nothing to say: the text has no phonemes") }
        let start = Date()
        let index = Dictionary(uniqueKeysWithValues: vocabulary.phonemes.enumerated().map { ($0.element, Int32($0.offset)) })
        let tokens = try phonemes.map { phoneme in
            guard let id = index[phoneme] else {
                throw CheckpointError("the text: the phoneme '\(phoneme)' is not in the model's inventory of \(vocabulary.phonemes.count)")
            }
            return vocabulary.phonemeBase + id
        }
        let generation = generate(phonemeTokens: tokens)
        let mel = TextToSpeech.padded(vocabulary.mel(units: generation.units), options: vocabulary.mel)
        let samples: [Float]
        do { samples = try vocoder.waveform(logMel: mel) } catch let error as AudioError { throw CheckpointError(error.message) }
        let seconds = Double(samples.count) / Double(vocabulary.mel.sampleRate)
        var speech = TextToSpeech.Speech(samples: samples, mel: mel, phonemes: phonemes, durations: generation.durations,
                                         realTimeFactor: seconds > 0 ? Date().timeIntervalSince(start) / seconds : .infinity)
        speech.truncated = generation.truncated
        return speech
    }

    /// The real frames through the units and back: what the unit-to-mel decoder alone keeps.
    public func resynthesize(_ mel: FeatureMatrix) -> FeatureMatrix? {
        vocabulary.mel(units: vocabulary.units(mel))
    }
}
