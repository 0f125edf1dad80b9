import AudioData
import Foundation
import Layers
import SpeechSynthesis
import Tensors

/// Zero-shot tests of a spoken language model in the style of ZeroSpeech 2021's sWUGGY and sBLIMP (Nguyen et al.
/// 2020), at our scale: pairs of utterances spoken by espeak-ng in the TTS corpus' voice, one of which the model
/// should find more probable — a real word over a non-word made from it by changing one vowel letter (lexical), a
/// held-out line over the same line with two neighbouring words swapped (syntactic). Each utterance becomes a
/// speech-only document (`<speech>` and its deduplicated units, then end-of-text) and the model's summed log
/// probability of everything after `<speech>` scores it; a pair counts as right when the preferred one scores higher
/// (ties count half).
///
/// Two more kinds test continuation across modalities (what interleaved speech–text pre-training is for): a held-out
/// line's first words, then its next word against another word of as many letters — the prefix spoken and the
/// candidates written (`speech→text`: `<speech> units <text> candidate`), or the prefix written and the candidates
/// spoken (`text→speech`: `<text> prefix␣ <speech> units`). Only the candidate's tokens are scored. A model that
/// never saw text (the speech layout) is the control.
public struct SpokenPreferenceTest {
    public var lexicalPairs = 200
    public var syntacticPairs = 100
    /// Pairs of each cross-modal kind (speech→text, text→speech).
    public var continuationPairs = 100
    public var seed: UInt64 = 0
    public var voice = "en-us"
    /// Real words need at least this many letters and this many occurrences in the train text.
    public var minimumLetters = 4
    public var minimumCount = 3

    public init() {}

    public struct Pair: Codable, Equatable {
        public var kind: String           // lexical | syntactic | speech→text | text→speech
        public var preferred: String
        public var other: String
        /// The words before the candidates (the cross-modal kinds).
        public var prefix: String?
        public init(kind: String, preferred: String, other: String, prefix: String? = nil) {
            (self.kind, self.preferred, self.other, self.prefix) = (kind, preferred, other, prefix)
        }
    }

    public static let speechToText = "speech→text", textToSpeech = "text→speech"

    /// Word pairs from the train texts, sentence pairs from the test texts (none of them seen in training).
    /// `pronounce` gives a text's phonemes: a non-word that sounds like its word ("prisonor") is not used.
    public func pairs(trainTexts: [String], testTexts: [String], pronounce: (String) throws -> [String]) rethrows -> [Pair] {
        var generator = RandomGenerator(seed: seed)
        var counts: [String: Int] = [:]
        for text in trainTexts { for word in SpeechUnitPreparation.normalisedWords(text) { counts[word, default: 0] += 1 } }
        let known = Set(counts.keys).union(testTexts.flatMap(SpeechUnitPreparation.normalisedWords))
        let candidates = counts.filter { $0.value >= minimumCount && $0.key.count >= minimumLetters && $0.key.allSatisfy(\.isLetter) }
            .keys.sorted()
        var pairs: [Pair] = []
        for word in shuffled(candidates, &generator) where pairs.count < lexicalPairs {
            if let nonWord = try Self.nonWord(word, known: known, pronounce: pronounce, generator: &generator) {
                pairs.append(Pair(kind: "lexical", preferred: word, other: nonWord))
            }
        }
        var sentences = 0
        for text in shuffled(testTexts, &generator) where sentences < syntacticPairs {
            let words = SpeechUnitPreparation.normalisedWords(text)
            guard words.count >= 4 else { continue }
            let i = generator.nextInt(below: words.count - 1)
            guard words[i] != words[i + 1] else { continue }
            var swapped = words
            swapped.swapAt(i, i + 1)
            pairs.append(Pair(kind: "syntactic", preferred: words.joined(separator: " "), other: swapped.joined(separator: " ")))
            sentences += 1
        }
        let byLength = Dictionary(grouping: counts.filter { $0.value >= minimumCount }.keys.sorted(), by: \.count)
        for kind in [Self.speechToText, Self.textToSpeech] {
            var made = 0
            for text in shuffled(testTexts, &generator) where made < continuationPairs {
                let words = SpeechUnitPreparation.normalisedWords(text)
                guard words.count >= 3 else { continue }
                let cut = 2 + generator.nextInt(below: words.count - 2)      // 2…count−1 words of prefix
                let next = words[cut]
                let others = (byLength[next.count] ?? []).filter { $0 != next }
                guard !others.isEmpty else { continue }
                pairs.append(Pair(kind: kind, preferred: next, other: others[generator.nextInt(below: others.count)],
                                  prefix: words[..<cut].joined(separator: " ")))
                made += 1
            }
        }
        return pairs
    }

    /// `word` with one vowel letter changed into another so that the result is no known word and is pronounced
    /// differently; nil when no change does.
    static func nonWord(_ word: String, known: Set<String>, pronounce: (String) throws -> [String],
                        generator: inout RandomGenerator) rethrows -> String? {
        let letters = Array(word), vowels: [Character] = ["a", "e", "i", "o", "u"]
        let sound = try pronounce(word)
        let positions = shuffled(letters.indices.filter { vowels.contains(letters[$0]) }, &generator)
        for position in positions {
            for vowel in shuffled(vowels.filter { $0 != letters[position] }, &generator) {
                var changed = letters
                changed[position] = vowel
                let candidate = String(changed)
                if !known.contains(candidate), try pronounce(candidate) != sound { return candidate }
            }
        }
        return nil
    }

    /// A pair's two documents and where their scored tokens begin (the same in both: the shared prefix ends there).
    public struct Documents {
        public var preferred: [Int32]
        public var other: [Int32]
        public var scoredFrom: Int
        public init(preferred: [Int32], other: [Int32], scoredFrom: Int) {
            (self.preferred, self.other, self.scoredFrom) = (preferred, other, scoredFrom)
        }
    }

    /// Speaks what each pair says aloud into `audio` (kept, so a rerun reuses them) and makes its two documents.
    public func documents(_ pairs: [Pair], vocabulary: SpeechUnitVocabulary, audio: URL) throws -> [Documents] {
        let renderer = UtteranceRenderer(tools: try ExternalTools(), directory: audio)
        let spectrogram = try TTSMelSpectrogram(options: vocabulary.mel)
        func spoken(_ text: String, _ name: String) throws -> [Int32] {
            let entry = try renderer.render(UtteranceSpec.tts(path: name, split: "test", text: text, voice: voice), seed: seed)
            let waveform = try Waveform(contentsOf: audio.appendingPathComponent(entry.path), sampleRate: vocabulary.mel.sampleRate)
            return [SpeechUnitVocabulary.speech] + vocabulary.speechTokens(vocabulary.units(try spectrogram.logMel(waveform.samples)))
        }
        let end = SpeechUnitVocabulary.endOfText
        return try pairs.enumerated().map { index, pair in
            // Audio file names say the kind without the arrow: lexical, syntactic, speech-text, text-speech.
            let stem = "\(pair.kind.replacingOccurrences(of: "→", with: "-"))/\(index)"
            switch pair.kind {
            case Self.speechToText:
                let prefix = [end] + (try spoken(pair.prefix ?? "", stem + "-prefix.wav")) + [SpeechUnitVocabulary.text]
                return Documents(preferred: prefix + vocabulary.characterTokens(pair.preferred),
                                 other: prefix + vocabulary.characterTokens(pair.other), scoredFrom: prefix.count)
            case Self.textToSpeech:
                let prefix = [end, SpeechUnitVocabulary.text] + vocabulary.characterTokens((pair.prefix ?? "") + " ")
                return Documents(preferred: prefix + (try spoken(pair.preferred, stem + "-a.wav")).dropFirst(),
                                 other: prefix + (try spoken(pair.other, stem + "-b.wav")).dropFirst(), scoredFrom: prefix.count)
            default:
                return Documents(preferred: [end] + (try spoken(pair.preferred, stem + "-a.wav")) + [end],
                                 other: [end] + (try spoken(pair.other, stem + "-b.wav")) + [end], scoredFrom: 2)
            }
        }
    }

    public struct Score: Codable, Equatable {
        public var kind: String
        public var pairs: Int
        /// Fraction of pairs whose preferred utterance has the higher summed log probability (ties half).
        public var accuracy: Double
        /// The same with the mean log probability per token (length-normalised).
        public var accuracyPerToken: Double

        enum CodingKeys: String, CodingKey { case kind, pairs, accuracy, accuracyPerToken = "accuracy_per_token" }
    }

    /// The model's accuracy on each kind of pair.
    public static func score(_ model: GPTModel, pairs: [Pair], documents: [Documents]) -> [Score] {
        let scored = documents.map { (logProbability(model, $0.preferred, from: $0.scoredFrom),
                                      logProbability(model, $0.other, from: $0.scoredFrom)) }
        return Array(Set(pairs.map(\.kind))).sorted().map { kind in
            let rows = pairs.indices.filter { pairs[$0].kind == kind }
            func accuracy(_ value: (Double, Int) -> Double) -> Double {
                rows.reduce(0.0) { total, row in
                    let (a, b) = (value(scored[row].0.sum, scored[row].0.count), value(scored[row].1.sum, scored[row].1.count))
                    return total + (a > b ? 1 : a == b ? 0.5 : 0)
                } / Double(max(rows.count, 1))
            }
            return Score(kind: kind, pairs: rows.count, accuracy: accuracy { sum, _ in sum },
                         accuracyPerToken: accuracy { sum, count in sum / Double(count) })
        }
    }

    /// Σ log p(token_t | tokens before) over the tokens from index `start` on, and how many there are. A document
    /// longer than the context keeps its first contextLength tokens.
    static func logProbability(_ model: GPTModel, _ document: [Int32], from start: Int) -> (sum: Double, count: Int) {
        let tokens = Array(document.prefix(model.config.contextLength))
        guard start >= 1, tokens.count > start else { return (0, 0) }
        return model.inEvaluationMode {
            let rows = Array((start - 1)..<(tokens.count - 1))
            let scores = model.nextTokenScores(tokens: IntTensor(tokens, shape: [1, tokens.count]), rows: rows)   // (N, V)
            let v = scores.size(1)
            var sum = 0.0
            for (i, row) in rows.enumerated() {
                let logits = scores.data + i * v
                var largest = -Float.infinity
                for j in 0..<v { largest = max(largest, logits[j]) }
                var total = 0.0
                for j in 0..<v { total += Foundation.exp(Double(logits[j] - largest)) }
                sum += Double(logits[Int(tokens[row + 1])] - largest) - Foundation.log(total)
            }
            return (sum, rows.count)
        }
    }
}

extension SpokenPreferenceTest.Report {
    /// The scores as a markdown table: a row per checkpoint (named by its last path component), a column pair per kind.
    public func markdown() -> String {
        let kinds = Array(Set(scores.values.flatMap { $0.map(\.kind) })).sorted()
        var lines = ["| spoken LM | " + kinds.map { "\($0) | \($0) per token" }.joined(separator: " | ") + " |",
                     "|---|" + String(repeating: "---|---|", count: kinds.count)]
        for (name, rows) in scores.sorted(by: { $0.key < $1.key }) {
            let cells = kinds.map { kind in
                rows.first { $0.kind == kind }.map { String(format: "%.3f | %.3f", $0.accuracy, $0.accuracyPerToken) } ?? "– | –"
            }
            lines.append("| \(URL(fileURLWithPath: name).lastPathComponent) | " + cells.joined(separator: " | ") + " |")
        }
        let counts = kinds.map { kind in "\(scores.values.first?.first { $0.kind == kind }?.pairs ?? 0) \(kind)" }
        return lines.joined(separator: "\n") + "\n\n" + counts.joined(separator: ", ") + " pairs.\n"
    }
}

/// A seeded Fisher–Yates shuffle.
private func shuffled<T>(_ values: [T], _ generator: inout RandomGenerator) -> [T] {
    var copy = values
    if copy.count > 1 { for i in stride(from: copy.count - 1, to: 0, by: -1) { copy.swapAt(i, generator.nextInt(below: i + 1)) } }
    return copy
}

extension SpokenPreferenceTest {
    public struct Report: Codable, Equatable {
        public var pairs: [Pair]
        /// Checkpoint path → its scores by kind.
        public var scores: [String: [Score]]
    }

    /// Scores every checkpoint (decoders trained on corpora of one speech-unit vocabulary) on pairs made from the tts
    /// corpus' texts; writes OUT/preference.json and keeps the spoken pairs in OUT/audio/.
    public func run(checkpoints: [URL], corpus: URL, out: URL, log: (String) -> Void = { _ in }) throws -> Report {
        guard !checkpoints.isEmpty else { throw TrainingError("no checkpoint to test") }
        var models: [(String, GPTModel)] = [], vocabulary: SpeechUnitVocabulary?
        for url in checkpoints {
            let checkpoint = try loadCheckpoint(url)
            guard let model = checkpoint.decoder, let tokenizer = checkpoint.tokenizerURL else {
                throw CheckpointError("\(checkpoint.directory.path): not a decoder with a speech-unit vocabulary")
            }
            var own = try SpeechUnitVocabulary.read(tokenizer)
            own.layout = nil
            if let vocabulary, vocabulary != own {
                throw CheckpointError("\(checkpoint.directory.path): its speech units are not those of \(models[0].0)")
            }
            vocabulary = own
            models.append((url.path, model))
        }
        let texts = try Self.texts(corpus)
        let pairs = try self.pairs(trainTexts: texts["train"] ?? [], testTexts: texts["test"] ?? [],
                                   pronounce: { try espeakPhonemes($0, voice: voice) })
        log("\(pairs.count) pairs; speaking them into \(out.appendingPathComponent("audio").path)")
        let documents = try self.documents(pairs, vocabulary: vocabulary!, audio: out.appendingPathComponent("audio"))
        var report = Report(pairs: pairs, scores: [:])
        for (name, model) in models {
            report.scores[name] = Self.score(model, pairs: pairs, documents: documents)
            for score in report.scores[name]! {
                log(String(format: "%@: %@ %.3f (per token %.3f) of %d pairs", name, score.kind, score.accuracy,
                           score.accuracyPerToken, score.pairs))
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: out.appendingPathComponent("preference.json"), options: .atomic)
        return report
    }

    /// The tts utterances' texts by split, from the corpus manifest.
    static func texts(_ corpus: URL) throws -> [String: [String]] {
        let manifest = corpus.appendingPathComponent("manifest.jsonl")
        guard let text = try? String(contentsOf: manifest, encoding: .utf8) else {
            throw TrainingError("\(manifest.path): cannot read the corpus manifest")
        }
        var texts: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                  object["subset"] as? String == "tts", let split = object["split"] as? String,
                  let words = object["text"] as? String else { continue }
            texts[split, default: []].append(words)
        }
        guard !(texts["train"] ?? []).isEmpty else { throw TrainingError("\(manifest.path): no tts train utterances") }
        return texts
    }
}
