import AudioData
import Foundation
import Layers
import Tensors

/// Token-based text-to-speech (the VALL-E / Pheme family at our scale): a decoder LM trained on `tts` or
/// `tts-aligned` documents of speech units (`SpeechUnitPreparation`) continues `<phonemes> p₁ … p_P <speech>` with
/// one unit per mel frame until it draws end-of-text; a unit-to-mel decoder (fitted by `pretrain tts units`, or else
/// the units' centroids) makes the log-mel frames, and Griffin-Lim the audio.
///
/// A model of `tts-aligned` documents is decoded under phoneme-level alignment guidance, the remedy VALL-E R and
/// HAM-TTS apply against skipped and repeated words: the model still decides when a phoneme ends, but the phoneme that
/// follows is always the prompt's next one, so the phonemes come out once each and in order (`generate`).
/// `guided: false` decodes such a model freely, as a `tts` model always is.
public struct UnitTextToSpeech: SpeechSynthesizer {
    public let directory: URL
    public let model: GPTModel
    public let vocabulary: SpeechUnitVocabulary
    public let vocoder: GriffinLimVocoder
    public var guided: Bool
    /// The unit-to-mel decoder (`pretrain tts units` fits one beside the corpora); nil: each unit's centroid.
    public var decoder: UnitMelDecoder?
    public var temperature: Float = 1
    public var topK: Int? = 10
    public var seed: UInt64 = 0

    public var melOptions: TTSMelOptions { vocabulary.mel }

    /// Uses the decoder of `url` (its units must be the vocabulary's).
    public mutating func useDecoder(_ url: URL) throws {
        let decoder = try UnitMelDecoder.read(url)
        guard decoder.unitCount == vocabulary.unitCount, decoder.dimension == vocabulary.mel.melCount else {
            throw TrainingError("\(url.path): a decoder of \(decoder.unitCount) units and \(decoder.dimension) bins; the model's "
                + "vocabulary has \(vocabulary.unitCount) units of \(vocabulary.mel.melCount) bins")
        }
        self.decoder = decoder
    }

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
                                guided: layout == .ttsAligned, decoder: nil)
    }

    /// The generated tokens of one utterance: units, and in guided decoding the phoneme tokens between them.
    public struct Generation {
        public var units: [Int]
        /// Units after each phoneme token of the speech span (guided: the prompt's, in order; free: whichever the model
        /// drew), empty when there is none.
        public var durations: [Int]
        /// The context filled before end-of-text was drawn.
        public var truncated: Bool
    }

    /// Phoneme tokens (vocabulary ids) → units.
    ///
    /// Guided decoding draws the phonemes' boundaries apart from the units, as VALL-E R decides to stay on a phoneme or
    /// advance: after at least one unit, the model advances with the probability its softmax (at the temperature) puts
    /// on any phoneme token or end-of-text, and the token it advances with is the prompt's next phoneme (end-of-text
    /// after the last); otherwise a unit is drawn from the top k units. The model's belief that a phoneme ends is kept,
    /// its choice of which phoneme follows is not: that choice is where a small model loses its place (skips, repeats).
    /// Free decoding draws from every token of a speech span (units, phonemes, end-of-text) with top-k.
    public func generate(phonemeTokens: [Int32]) -> Generation {
        precondition(!phonemeTokens.isEmpty, "nothing to say: no phonemes")
        let prompt = [SpeechUnitVocabulary.endOfText, SpeechUnitVocabulary.phonemePrompt] + phonemeTokens
            + [SpeechUnitVocabulary.speech]
        let room = model.config.contextLength - prompt.count
        guard room > 0 else { return Generation(units: [], durations: [], truncated: true) }
        let unitBase = Int(vocabulary.unitBase)
        let units = Array(unitBase..<(unitBase + vocabulary.unitCount))
        let end = Int(SpeechUnitVocabulary.endOfText)
        var generator = RandomGenerator(seed: seed)
        /// A draw among the units and `extra` (logits elsewhere −∞).
        func draw(_ logits: [Float], extra: [Int]) -> Int {
            var kept = [Float](repeating: -.infinity, count: logits.count)
            for id in units { kept[id] = logits[id] }
            for id in extra { kept[id] = logits[id] }
            return TokenSampling.sample(logits: kept, temperature: temperature, topK: topK, generator: &generator)
        }
        let boundaries = [end] + (Int(vocabulary.phonemeBase)..<unitBase)
        /// Whether a phoneme ends now: the probability of any boundary token (a phoneme, the end) against the units',
        /// at the temperature (greedy: whether a boundary token is the most likely).
        func advances(_ logits: [Float]) -> Bool {
            let largest = max(boundaries.map { logits[$0] }.max()!, units.map { logits[$0] }.max()!)
            if temperature == 0 { return boundaries.contains { logits[$0] == largest } }
            func mass(_ ids: [Int]) -> Double { ids.reduce(0.0) { $0 + Foundation.exp(Double((logits[$1] - largest) / temperature)) } }
            let boundary = mass(boundaries)
            return Double(generator.nextFloat()) < boundary / (boundary + mass(units))
        }
        var result = Generation(units: [], durations: [], truncated: true)
        model.inEvaluationMode {
            let cache = model.makeDecodingCache()
            func logitsAfter(_ tokens: [Int32]) -> [Float] {
                let scores = model.nextTokenScores(tokens: IntTensor(tokens, shape: [1, tokens.count]), cache: cache)
                let v = model.vocabularySize
                return Array(UnsafeBufferPointer(start: scores.data + (tokens.count - 1) * v, count: v))
            }
            var logits = logitsAfter(prompt)
            var begun = 0, afterPhoneme = false
            for _ in 0..<room {
                let next: Int
                if !guided {
                    next = draw(logits, extra: boundaries)
                } else if begun == 0 {
                    next = Int(phonemeTokens[0])
                } else if afterPhoneme {
                    next = draw(logits, extra: [])
                } else {
                    let boundary = begun < phonemeTokens.count ? Int(phonemeTokens[begun]) : end
                    next = advances(logits) ? boundary : draw(logits, extra: [])
                }
                if next == end { result.truncated = false; return }
                if vocabulary.isUnit(Int32(next)) {
                    result.units.append(next - unitBase)
                    if !result.durations.isEmpty { result.durations[result.durations.count - 1] += 1 }
                    afterPhoneme = false
                } else {
                    // A phoneme: the prompt's next one in guided decoding, any one in free decoding.
                    result.durations.append(0)
                    (begun, afterPhoneme) = (begun + 1, true)
                }
                logits = logitsAfter([Int32(next)])
            }
        }
        return result
    }

    public func say(phonemes: [String], pace: Float) throws -> TextToSpeech.Speech {
        guard !phonemes.isEmpty else { throw CheckpointError("nothing to say: the text has no phonemes") }
        guard pace == 1 else { throw CheckpointError("a pace other than 1 needs a FastSpeech checkpoint; a speech-unit LM chooses its own durations") }
        let start = Date()
        let ids: [Int32]
        do { ids = try TTSCorpus.Info.ids(phonemes, inventory: vocabulary.phonemes, what: "the text") } catch let error as AudioError {
            throw CheckpointError(error.message)
        }
        let generation = generate(phonemeTokens: ids.map(vocabulary.phonemeToken))
        var speech = try speech(frames: vocabulary.mel(units: generation.units, decoder: decoder), phonemes: phonemes,
                                durations: generation.durations, since: start)
        speech.truncated = generation.truncated
        return speech
    }

    /// The real frames through the units and back: what the units and the unit-to-mel decoder keep.
    public func resynthesize(_ mel: FeatureMatrix) -> FeatureMatrix? {
        vocabulary.mel(units: vocabulary.units(mel), decoder: decoder)
    }
}
