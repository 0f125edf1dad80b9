import AudioData
import Foundation
import Layers
import Objectives
import Tensors
import TextData

/// The document layouts a speech-unit LM trains on, each a prepared token corpus of its own (`pretrain tts units`).
/// Every document follows an end-of-text token, as in any of our corpora.
public enum SpeechUnitLayout: String, CaseIterable, Codable {
    /// Token-based TTS: `<phonemes> p₁ … p_P <speech> u₁ … u_T`, one unit per mel frame (the VALL-E / Pheme family).
    case tts
    /// The same with phoneme-level alignment guidance: inside the speech span each phoneme's token comes before its
    /// frames' units, `<speech> p₁ u u u p₂ u u …`, so decoding can keep the phonemes in order (`UnitTextToSpeech`).
    case ttsAligned = "tts-aligned"
    /// A spoken LM's documents: `<speech>` and the utterance's units with runs collapsed.
    case speech
    /// Each utterance once as `speech` and once interleaved at word spans: `<text> that strumpet <speech> u u …
    /// <text> …`, the modality switching at every span (Zeng et al. 2024's interleaved data; the speech here is
    /// espeak-ng's, so synthetic as theirs is).
    case interleaved
}

/// Makes the speech-unit vocabulary and the four corpora from a text-to-speech corpus: k-means of the normalised
/// train log-mel frames (one unit per frame), each utterance's phoneme durations from a FastSpeech checkpoint's own
/// aligner (its alignment encoder and the monotonic alignment search, as in training), and word spans from the
/// manifest's espeak-ng word lengths. Train utterances make the train shards and dev utterances the val shards;
/// test utterances are left for the judges.
public struct SpeechUnitPreparation {
    public var unitCount = 128
    public var seed: UInt64 = 0
    public var kMeansIterations = 400
    /// The most words in one interleaved span (each span draws 1…this many).
    public var spanWords = 3
    /// Frames on each side that the unit-to-mel decoder reads (`UnitMelDecoder`).
    public var decoderContext = 2
    public var characters = Array("abcdefghijklmnopqrstuvwxyz' ").map(String.init)

    public init() {}

    public struct Summary: Codable, Equatable {
        public var unitCount: Int
        public var trainFrames: Int
        public var inertia: Double
        /// Mean squared error per frame (normalised, summed over bins) of the train frames rebuilt by the decoder.
        public var decoderError: Double
        /// Utterances with durations from the aligner, by split.
        public var alignedUtterances: [String: Int]
        /// Utterances whose text words match espeak-ng's words one for one (the interleaved ones), by split.
        public var interleavedUtterances: [String: Int]
        /// Train tokens of each layout's corpus.
        public var trainTokens: [String: Int]

        enum CodingKeys: String, CodingKey {
            case unitCount = "unit_count", trainFrames = "train_frames", inertia, decoderError = "decoder_error",
             alignedUtterances = "aligned_utterances",
                 interleavedUtterances = "interleaved_utterances", trainTokens = "train_tokens"
        }
    }

    /// An utterance as units, phoneme durations and words.
    struct UnitUtterance {
        var phonemes: [Int32]           // vocabulary tokens
        var units: [Int]                // one per frame
        var durations: [Int]            // frames per phoneme (sum = frames)
        var words: [(text: String, frames: Range<Int>)]?
    }

    /// Writes OUT/speech_units.json, OUT/unit_decoder.safetensors, OUT/<layout>/ (corpus.json, shards, the vocabulary
    /// as its tokenizer) and OUT/summary.json.
    public func run(corpus: TTSCorpus, aligner: FastSpeechModel, out: URL, log: (String) -> Void = { _ in }) throws -> Summary {
        let d = corpus.info.mel.melCount
        let frames = corpus.train.flatMap(\.mel.values)
        let count = frames.count / d
        var config = KMeansConfig(k: unitCount)
        (config.seed, config.iterations, config.batchSize) = (seed, kMeansIterations, 4_096)
        if let problem = config.problem(points: count) { throw TrainingError("\(corpus.directory.path): \(problem)") }
        // Per-bin statistics of the train frames, then k-means of the normalised frames.
        var mean = [Float](repeating: 0, count: d), deviation = [Float](repeating: 0, count: d)
        for j in 0..<d {
            var sum = 0.0, squares = 0.0
            for t in 0..<count { let v = Double(frames[t * d + j]); sum += v; squares += v * v }
            let m = sum / Double(count)
            (mean[j], deviation[j]) = (Float(m), Float(max((squares / Double(count) - m * m).squareRoot(), 1e-5)))
        }
        let points = Tensor(SpeechUnitVocabulary.normalised(frames, mean: mean, deviation: deviation), shape: [count, d])
        log("k-means: \(unitCount) units of \(count) train frames")
        let centroids = MiniBatchKMeans.fit(points, config: config)
        let inertia = MiniBatchKMeans.inertia(points, centroids: centroids)
        let vocabulary = SpeechUnitVocabulary(phonemes: corpus.info.phonemes, characters: characters, unitCount: unitCount,
                                              mel: corpus.info.mel, melMean: mean, melDeviation: deviation,
                                              centroids: centroids.scalars, deduplicatedSpeech: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let vocabularyURL = out.appendingPathComponent(SpeechUnitVocabulary.fileName)
        try vocabulary.write(to: vocabularyURL)

        let training = FastSpeechTraining(model: aligner)
        var aligned: [String: Int] = [:], interleavedCounts: [String: Int] = [:]
        var documents: [SpeechUnitLayout: (train: [[Int32]], val: [[Int32]])] = [:]
        var generator = RandomGenerator(seed: seed &+ 1)
        var trainUnits: [(units: [Int], frames: FeatureMatrix)] = []
        for (split, utterances) in [("train", corpus.train), ("val", corpus.val)] {
            for utterance in utterances {
                let unitUtterance = Self.unitUtterance(utterance, vocabulary: vocabulary, training: training)
                if split == "train" { trainUnits.append((unitUtterance.units, vocabulary.normalised(utterance.mel))) }
                aligned[split, default: 0] += 1
                var made: [SpeechUnitLayout: [[Int32]]] = [
                    .tts: [Self.ttsDocument(unitUtterance, vocabulary: vocabulary, aligned: false)],
                    .ttsAligned: [Self.ttsDocument(unitUtterance, vocabulary: vocabulary, aligned: true)],
                    .speech: [Self.speechDocument(unitUtterance.units, vocabulary: vocabulary)],
                ]
                made[.interleaved] = made[.speech]
                if let words = Self.words(utterance, durations: unitUtterance.durations) {
                    interleavedCounts[split, default: 0] += 1
                    var withWords = unitUtterance
                    withWords.words = words
                    made[.interleaved]!.append(interleavedDocument(withWords, vocabulary: vocabulary, generator: &generator))
                }
                for (layout, docs) in made {
                    if split == "train" { documents[layout, default: ([], [])].train += docs } else { documents[layout, default: ([], [])].val += docs }
                }
            }
        }
        log("unit-to-mel decoder: \(2 * decoderContext + 1) frames of context")
        let decoder = UnitMelDecoder.fit(trainUnits, unitCount: unitCount, context: decoderContext)
        try decoder.write(to: out.appendingPathComponent(UnitMelDecoder.fileName))
        var squares = 0.0
        for (units, frames) in trainUnits {
            for (a, b) in zip(decoder.decode(units).values, frames.values) { squares += Double(a - b) * Double(a - b) }
        }
        var trainTokens: [String: Int] = [:]
        for layout in SpeechUnitLayout.allCases {
            let (train, val) = documents[layout] ?? ([], [])
            var own = vocabulary
            own.layout = layout
            trainTokens[layout.rawValue] = try Self.writeCorpus(train: train, val: val, vocabulary: own,
                                                                 to: out.appendingPathComponent(layout.rawValue))
        }
        let summary = Summary(unitCount: unitCount, trainFrames: count, inertia: inertia, decoderError: squares / Double(count),
                              alignedUtterances: aligned,
                              interleavedUtterances: interleavedCounts, trainTokens: trainTokens)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(summary).write(to: out.appendingPathComponent("summary.json"), options: .atomic)
        return summary
    }

    /// Units of every frame and the aligner's durations of every phoneme.
    static func unitUtterance(_ utterance: TTSCorpus.Utterance, vocabulary: SpeechUnitVocabulary,
                              training: FastSpeechTraining) -> UnitUtterance {
        let (p, t, m) = (utterance.phonemeIds.count, utterance.mel.frameCount, utterance.mel.dimension)
        let durations: [Int] = noGrad {
            let embedded = training.fastSpeech.embed(IntTensor(utterance.phonemeIds, shape: [1, p]))
            let logProbabilities = training.alignment(embedded: embedded, phonemes: SequencePadding(lengths: [p], width: p),
                                                      mel: Tensor(utterance.mel.values, shape: [1, t, m]),
                                                      frames: SequencePadding(lengths: [t], width: t))
            return MonotonicAlignment.durations(logProbabilities.data, frames: t, phonemes: p, rowStride: p)
        }
        return UnitUtterance(phonemes: utterance.phonemeIds.map(vocabulary.phonemeToken), units: vocabulary.units(utterance.mel),
                             durations: durations, words: nil)
    }

    /// The text's words with their frames, when the text has as many words as espeak-ng spoke (else nil).
    static func words(_ utterance: TTSCorpus.Utterance, durations: [Int]) -> [(text: String, frames: Range<Int>)]? {
        guard let counts = utterance.wordPhonemes else { return nil }
        let texts = normalisedWords(utterance.text)
        guard texts.count == counts.count else { return nil }
        var words: [(String, Range<Int>)] = [], phoneme = 0, frame = 0
        for (text, count) in zip(texts, counts) {
            let length = durations[phoneme..<(phoneme + count)].reduce(0, +)
            words.append((text, frame..<(frame + length)))
            (phoneme, frame) = (phoneme + count, frame + length)
        }
        return words
    }

    /// Lower-case words of letters and apostrophes ("preserv'd"), everything else a separator.
    public static func normalisedWords(_ text: String) -> [String] {
        let letters = text.lowercased().map { $0.isLetter && $0.isASCII || $0 == "'" ? $0 : " " }
        return String(letters).split(separator: " ").map(String.init).filter { $0.contains(where: \.isLetter) }
    }

    static func ttsDocument(_ u: UnitUtterance, vocabulary: SpeechUnitVocabulary, aligned: Bool) -> [Int32] {
        var tokens = [SpeechUnitVocabulary.phonemePrompt] + u.phonemes + [SpeechUnitVocabulary.speech]
        var frame = 0
        for (phoneme, duration) in zip(u.phonemes, u.durations) {
            if aligned { tokens.append(phoneme) }
            tokens += u.units[frame..<(frame + duration)].map { vocabulary.unitBase + Int32($0) }
            frame += duration
        }
        return tokens
    }

    static func speechDocument(_ units: [Int], vocabulary: SpeechUnitVocabulary) -> [Int32] {
        [SpeechUnitVocabulary.speech] + vocabulary.speechTokens(units)
    }

    func interleavedDocument(_ u: UnitUtterance, vocabulary: SpeechUnitVocabulary, generator: inout RandomGenerator) -> [Int32] {
        let words = u.words!
        var tokens: [Int32] = [], start = 0
        var speech = generator.nextInt(below: 2) == 0
        while start < words.count {
            let end = min(words.count, start + 1 + generator.nextInt(below: spanWords))
            if speech {
                let frames = words[start].frames.lowerBound..<words[end - 1].frames.upperBound
                tokens += [SpeechUnitVocabulary.speech] + vocabulary.speechTokens(Array(u.units[frames]))
            } else {
                let text = words[start..<end].map(\.text).joined(separator: " ") + (end < words.count ? " " : "")
                tokens += [SpeechUnitVocabulary.text] + vocabulary.characterTokens(text)
            }
            (start, speech) = (end, !speech)
        }
        return tokens
    }

    /// Writes one layout's corpus directory; returns its train tokens.
    static func writeCorpus(train: [[Int32]], val: [[Int32]], vocabulary: SpeechUnitVocabulary, to directory: URL) throws -> Int {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func stream(_ documents: [[Int32]]) -> [Int32] { documents.flatMap { [SpeechUnitVocabulary.endOfText] + $0 } }
        let (trainTokens, valTokens) = (stream(train), stream(val))
        try TokenShard.write(trainTokens, vocabularySize: vocabulary.size, to: directory.appendingPathComponent("train_000000.bin"))
        try TokenShard.write(valTokens, vocabularySize: vocabulary.size, to: directory.appendingPathComponent("val_000000.bin"))
        try vocabulary.write(to: directory.appendingPathComponent(SpeechUnitVocabulary.fileName))
        let manifest = CorpusManifest(tokenizer: SpeechUnitVocabulary.fileName, vocabSize: vocabulary.size,
                                      eotToken: Int(SpeechUnitVocabulary.endOfText), trainTokens: trainTokens.count,
                                      valTokens: valTokens.count, trainBytes: 0, valBytes: 0, trainDocuments: train.count,
                                      valDocuments: val.count, files: [], skipped: [])
        try manifest.jsonText().write(to: directory.appendingPathComponent(PreparedCorpus.manifestName), atomically: true, encoding: .utf8)
        return trainTokens.count
    }
}

extension SpeechUnitVocabulary {
    /// Frame units → the tokens of a spoken-LM span: runs collapsed when `deduplicatedSpeech`.
    public func speechTokens(_ units: [Int]) -> [Int32] {
        (deduplicatedSpeech ? Self.deduplicated(units).units : units).map { unitBase + Int32($0) }
    }
}
