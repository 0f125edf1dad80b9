import AudioData
import Foundation
import Objectives
import Tensors

/// The one token vocabulary of every speech-unit language model (`pretrain tts units`): control tokens, the TTS
/// corpus' phonemes, K discrete speech units and the characters of the text, in that order of ids. It also holds
/// what turns frames into units and back: the per-bin mean and deviation of the train log-mel frames, and the k-means
/// centroids of the normalised frames. A unit LM's corpus names this file as its tokenizer, so every checkpoint
/// trained on it carries it (as tokenizer.json).
public struct SpeechUnitVocabulary: Codable, Equatable {
    public static let fileName = "speech_units.json"
    /// Written into the file so that a text tokenizer is not mistaken for it, and the other way round.
    public var format = SpeechUnitVocabulary.formatName
    public static let formatName = "swift-pretrain speech units"
    public var phonemes: [String]
    public var characters: [String]
    public var unitCount: Int
    public var mel: TTSMelOptions
    public var melMean: [Float]
    public var melDeviation: [Float]
    /// (unitCount × melCount) centroids of the normalised frames, row-major.
    public var centroids: [Float]
    /// Runs of one unit are collapsed to one token in the spoken-LM documents (speech, interleaved), as GSLM does;
    /// the TTS documents keep one unit per frame so that their length is the audio's.
    public var deduplicatedSpeech: Bool
    /// The layout of the corpus this copy belongs to (nil in the shared file at the top of the units directory).
    public var layout: SpeechUnitLayout? = nil

    enum CodingKeys: String, CodingKey {
        case format, phonemes, characters, unitCount = "unit_count", mel, melMean = "mel_mean", melDeviation = "mel_deviation",
             centroids, deduplicatedSpeech = "deduplicated_speech", layout
    }

    // Control tokens. endOfText separates documents (the corpus' eot_token); the others open a span.
    public static let endOfText: Int32 = 0, phonemePrompt: Int32 = 1, speech: Int32 = 2, text: Int32 = 3
    static let controlCount = 4
    static let controlNames = ["<eot>", "<phonemes>", "<speech>", "<text>"]

    public var phonemeBase: Int32 { Int32(Self.controlCount) }
    public var unitBase: Int32 { phonemeBase + Int32(phonemes.count) }
    public var characterBase: Int32 { unitBase + Int32(unitCount) }
    public var size: Int { Self.controlCount + phonemes.count + unitCount + characters.count }

    public func isUnit(_ id: Int32) -> Bool { id >= unitBase && id < characterBase }
    public func isPhoneme(_ id: Int32) -> Bool { id >= phonemeBase && id < unitBase }

    /// A TTS corpus phoneme id (1-based, `TTSCorpus.Info`) → its token.
    public func phonemeToken(_ corpusId: Int32) -> Int32 { phonemeBase + corpusId - 1 }

    /// Each character of `text` → its token; a character outside the vocabulary is left out.
    public func characterTokens(_ text: String) -> [Int32] {
        let index = Dictionary(uniqueKeysWithValues: characters.enumerated().map { ($0.element, Int32($0.offset)) })
        return text.compactMap { index[String($0)].map { characterBase + $0 } }
    }

    /// A token as text, for printing generated sequences.
    public func name(_ id: Int32) -> String {
        if id < phonemeBase { return Self.controlNames[Int(id)] }
        if id < unitBase { return phonemes[Int(id - phonemeBase)] }
        if id < characterBase { return "u\(id - unitBase)" }
        return Int(id - characterBase) < characters.count ? characters[Int(id - characterBase)] : "<?\(id)>"
    }

    /// Log-mel frames (T, melCount) → the nearest centroid of each normalised frame (T unit indices, 0..<unitCount).
    public func units(_ mel: FeatureMatrix) -> [Int] {
        precondition(mel.dimension == melMean.count, "\(mel.dimension) mel bins, the vocabulary has \(melMean.count)")
        let d = mel.dimension
        let codes = Tensor(centroids, shape: [unitCount, d])
        return nearestRows(Tensor(normalised(mel).values, shape: [mel.frameCount, d]), in: codes).map(Int.init)
    }

    /// Log-mel frames → the normalised frames k-means and the decoder see.
    public func normalised(_ mel: FeatureMatrix) -> FeatureMatrix {
        FeatureMatrix(frameCount: mel.frameCount, dimension: mel.dimension,
                      values: Self.normalised(mel.values, mean: melMean, deviation: melDeviation))
    }

    /// Row-major frames of mean.count bins, each bin standardised.
    static func normalised(_ values: [Float], mean: [Float], deviation: [Float]) -> [Float] {
        let d = mean.count
        var values = values
        for t in 0..<(values.count / d) { for j in 0..<d { values[t * d + j] = (values[t * d + j] - mean[j]) / deviation[j] } }
        return values
    }

    /// Units (one per frame) → log-mel frames through a fitted decoder, un-normalised; without one, the centroids.
    public func mel(units: [Int], decoder: UnitMelDecoder?) -> FeatureMatrix {
        guard let decoder else { return mel(units: units) }
        var frames = decoder.decode(units)
        let d = frames.dimension
        for t in 0..<frames.frameCount { for j in 0..<d { frames.values[t * d + j] = frames.values[t * d + j] * melDeviation[j] + melMean[j] } }
        return frames
    }

    /// Unit indices → log-mel frames: each unit's centroid, un-normalised, `framesPerUnit` frames each.
    public func mel(units: [Int], framesPerUnit: [Int]? = nil) -> FeatureMatrix {
        let d = melMean.count
        var values: [Float] = []
        for (i, unit) in units.enumerated() {
            let frame = (0..<d).map { centroids[unit * d + $0] * melDeviation[$0] + melMean[$0] }
            for _ in 0..<(framesPerUnit?[i] ?? 1) { values += frame }
        }
        return FeatureMatrix(frameCount: values.count / d, dimension: d, values: values)
    }

    /// Runs of one unit collapsed to one: the deduplicated units and each one's run length.
    public static func deduplicated(_ units: [Int]) -> (units: [Int], runs: [Int]) {
        var kept: [Int] = [], runs: [Int] = []
        for unit in units {
            if unit == kept.last { runs[runs.count - 1] += 1 } else { kept.append(unit); runs.append(1) }
        }
        return (kept, runs)
    }

    /// Reads a vocabulary file; anything else (a text tokenizer.json) is an error naming the file.
    public static func read(_ url: URL) throws -> SpeechUnitVocabulary {
        guard let data = try? Data(contentsOf: url) else { throw TrainingError("\(url.path): cannot read the speech-unit vocabulary") }
        guard let vocabulary = try? JSONDecoder().decode(SpeechUnitVocabulary.self, from: data),
              vocabulary.format == formatName else {
            throw TrainingError("\(url.path): not a speech-unit vocabulary (make one with pretrain tts units)")
        }
        let d = vocabulary.mel.melCount
        guard vocabulary.unitCount > 0, vocabulary.melMean.count == d, vocabulary.melDeviation.count == d,
              vocabulary.centroids.count == vocabulary.unitCount * d else {
            throw TrainingError("\(url.path): the centroids or mel statistics do not match \(vocabulary.unitCount) units of \(d) mel bins")
        }
        return vocabulary
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}
