import AudioData
import Foundation
import Layers
import Tensors
import TestSupport
import TextData
import Training
import XCTest

/// Speech units end to end on a small espeak-ng corpus: `SpeechUnitPreparation`'s vocabulary and four corpora hold
/// what they promise, a unit LM trains on them through the ordinary trainer, guided decoding keeps the phonemes in
/// order, the judge reads a unit LM, and the spoken preference test scores it.
final class SpeechUnitTests: XCTestCase {
    /// 12 train, 3 dev, 2 test utterances, plus a FastSpeech aligner (two updates) and the units (8) made from them,
    /// once for the class.
    nonisolated(unsafe) static var made: (corpus: URL, aligner: URL, units: URL)?
    static var prepared: (corpus: URL, aligner: URL, units: URL) {
        if let made { return made }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("speech-units-\(getpid())")
        let corpus = root.appendingPathComponent("tts")
        let (status, output) = try! runPretrain(["data", "synth-speech", "--subsets", "tts", "--tts", "12,3,2", "--hours", "0",
                                                 "--out", corpus.path, "--text-dir",
                                                 repositoryRoot.appendingPathComponent("data/shakespeare").path])
        precondition(status == 0, output)
        let recipe = try! Recipe.parse("""
            model: {flavor: fastspeech, layers: 1, d_model: 16, heads: 2, mlp_hidden: 32, conv_kernel: 3, predictor_hidden: 16,
                    alignment_dim: 8, context: 400}
            objective: {kind: fastspeech}
            data: {tts: \(corpus.path)}
            optim: {lr: 3.0e-3, batch_size: 3}
            train: {steps: 2, eval_every: 2, eval_batches: 1, log_every: 1, checkpoint_every: 2, seed: 7}
            """)
        let aligner = root.appendingPathComponent("fastspeech")
        try! Trainer(recipe: recipe, runDirectory: aligner, corpus: try! TrainingCorpus.load(recipe.data),
                     console: ConsoleProgress(mode: .silent)).run()
        let units = root.appendingPathComponent("units")
        let (unitStatus, unitOutput) = try! runPretrain(["tts", "units", "--corpus", corpus.path, "--aligner", aligner.path,
                                                         "--out", units.path, "--units", "8"])
        precondition(unitStatus == 0, unitOutput)
        made = (corpus, aligner, units)
        return made!
    }

    override class func tearDown() {
        if let made { try? FileManager.default.removeItem(at: made.corpus.deletingLastPathComponent()) }
        made = nil
        super.tearDown()
    }

    static func unitLM(_ layout: SpeechUnitLayout, root: URL, steps: Int = 2) throws -> URL {
        let recipe = try Recipe.parse("""
            model: {flavor: llama, layers: 1, d_model: 16, heads: 2, context: 96}
            objective: {kind: causal_lm}
            data: {corpus: \(prepared.units.appendingPathComponent(layout.rawValue).path)}
            optim: {lr: 3.0e-3, batch_size: 2}
            train: {steps: \(steps), eval_every: \(steps), eval_batches: 1, log_every: 1, checkpoint_every: \(steps), seed: 3}
            """)
        let run = root.appendingPathComponent(layout.rawValue)
        try Trainer(recipe: recipe, runDirectory: run, corpus: try TrainingCorpus.load(recipe.data),
                    console: ConsoleProgress(mode: .silent)).run()
        return run
    }

    /// Each layout's documents, split at the end-of-text tokens.
    func documents(_ layout: SpeechUnitLayout, _ split: PreparedCorpus.ShardSplit = .train) throws -> [[Int32]] {
        let corpus = try PreparedCorpus(directory: Self.prepared.units.appendingPathComponent(layout.rawValue))
        XCTAssertEqual(corpus.eotToken, Int(SpeechUnitVocabulary.endOfText))
        let tokens = try corpus.readShards(split).flatMap { $0 }
        if !tokens.isEmpty { XCTAssertEqual(tokens.first, SpeechUnitVocabulary.endOfText, "every document follows end-of-text") }
        return tokens.split(separator: SpeechUnitVocabulary.endOfText, omittingEmptySubsequences: true).map(Array.init)
    }

    func testTheCorporaHoldEachUtterancesPhonemesAndFrames() throws {
        let vocabulary = try SpeechUnitVocabulary.read(Self.prepared.units.appendingPathComponent(SpeechUnitVocabulary.fileName))
        let corpus = try TTSCorpus.load(Self.prepared.corpus)
        XCTAssertEqual(vocabulary.size, 4 + corpus.info.phonemes.count + 8 + vocabulary.characters.count)
        XCTAssertNil(vocabulary.layout)
        for layout in SpeechUnitLayout.allCases {
            let own = try SpeechUnitVocabulary.read(Self.prepared.units.appendingPathComponent("\(layout.rawValue)/speech_units.json"))
            XCTAssertEqual(own.layout, layout)
            XCTAssertEqual(try PreparedCorpus(directory: Self.prepared.units.appendingPathComponent(layout.rawValue)).vocabularySize,
                           vocabulary.size)
        }
        let (tts, aligned, speech) = (try documents(.tts), try documents(.ttsAligned), try documents(.speech))
        XCTAssertEqual(tts.count, corpus.train.count)
        XCTAssertEqual(try documents(.tts, .val).count, corpus.val.count, "dev utterances make the val shards (those kept: "
            + "a dev utterance with a phoneme no train utterance has is left out)")
        for (index, utterance) in corpus.train.enumerated() {
            let phonemes = utterance.phonemeIds.map(vocabulary.phonemeToken)
            let units = vocabulary.units(utterance.mel).map { vocabulary.unitBase + Int32($0) }
            XCTAssertEqual(tts[index], [SpeechUnitVocabulary.phonemePrompt] + phonemes + [SpeechUnitVocabulary.speech] + units,
                           "one unit per frame after the prompt")
            let span = aligned[index].dropFirst(phonemes.count + 2)
            XCTAssertEqual(span.filter(vocabulary.isPhoneme), phonemes, "each phoneme once, in order, inside the speech span")
            XCTAssertEqual(span.filter(vocabulary.isUnit), units)
            XCTAssertTrue(vocabulary.isPhoneme(span.first!), "the span opens with the first phoneme")
            XCTAssertEqual(speech[index], [SpeechUnitVocabulary.speech] + vocabulary.speechTokens(vocabulary.units(utterance.mel)))
            XCTAssertFalse(zip(speech[index], speech[index].dropFirst()).contains { $0 == $1 }, "runs are collapsed")
        }
    }

    func testInterleavedDocumentsAlternateTextAndSpeechAtWords() throws {
        let vocabulary = try SpeechUnitVocabulary.read(Self.prepared.units.appendingPathComponent(SpeechUnitVocabulary.fileName))
        let corpus = try TTSCorpus.load(Self.prepared.corpus)
        let speechDocuments = try documents(.speech), all = try documents(.interleaved)
        // Each utterance's speech document, then its interleaved one when its text has as many words as espeak-ng spoke.
        var next = 0, interleaved: [([Int32], TTSCorpus.Utterance)] = []
        for (index, utterance) in corpus.train.enumerated() {
            XCTAssertEqual(all[next], speechDocuments[index])
            next += 1
            if utterance.wordPhonemes?.count == SpeechUnitPreparation.normalisedWords(utterance.text).count {
                interleaved.append((all[next], utterance))
                next += 1
            }
        }
        XCTAssertEqual(next, all.count)
        XCTAssertFalse(interleaved.isEmpty, "some utterances have as many words as espeak-ng spoke")
        for (document, utterance) in interleaved {
            // Spans: a control token, then its tokens; text and speech take turns.
            var kinds: [Int32] = [], text = ""
            for token in document {
                if token == SpeechUnitVocabulary.text || token == SpeechUnitVocabulary.speech { kinds.append(token); continue }
                if kinds.last == SpeechUnitVocabulary.text { text += vocabulary.name(token) } else { XCTAssertTrue(vocabulary.isUnit(token)) }
            }
            XCTAssertFalse(zip(kinds, kinds.dropFirst()).contains { $0 == $1 }, "the modality changes at every span")
            let words = SpeechUnitPreparation.normalisedWords(utterance.text)
            let written = text.split(separator: " ").map(String.init)
            XCTAssertTrue(Set(written).isSubset(of: Set(words)), "\(text) | \(words)")
            if words.count > 3 { XCTAssertEqual(Set(kinds).count, 2, "more words than one span holds: both modalities") }
        }
    }

    func testVocabularyRoundTripsUnitsAndRefusesATextTokenizer() throws {
        let vocabulary = try SpeechUnitVocabulary.read(Self.prepared.units.appendingPathComponent(SpeechUnitVocabulary.fileName))
        let units = [3, 3, 0, 7, 7, 7, 1]
        XCTAssertEqual(vocabulary.units(vocabulary.mel(units: units)), units, "a centroid's frame is its own unit")
        XCTAssertEqual(vocabulary.mel(units: [2, 5], framesPerUnit: [3, 1]).frameCount, 4)
        XCTAssertEqual(SpeechUnitVocabulary.deduplicated(units).units, [3, 0, 7, 1])
        XCTAssertEqual(SpeechUnitVocabulary.deduplicated(units).runs, [2, 1, 3, 1])
        XCTAssertEqual(vocabulary.characterTokens("a b!").map { vocabulary.name($0) }, ["a", " ", "b"])
        let text = try makeTemporaryDirectory().appendingPathComponent("tokenizer.json")
        try #"{"model": {"type": "BPE"}}"#.write(to: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SpeechUnitVocabulary.read(text)) {
            XCTAssertEqual("\($0)", "\(text.path): not a speech-unit vocabulary (make one with pretrain tts units)")
        }
    }

    /// Guided decoding of a tts-aligned model: whatever the (barely trained) model prefers, the phoneme tokens it
    /// draws are the prompt's in order, each followed by a unit.
    func testGuidedDecodingKeepsThePhonemesInOrder() throws {
        let root = try makeTemporaryDirectory()
        let run = try Self.unitLM(.ttsAligned, root: root)
        var speaker = try UnitTextToSpeech.load(run, griffinLimIterations: 2)
        XCTAssertTrue(speaker.guided, "a tts-aligned model is guided by default")
        let vocabulary = speaker.vocabulary
        let phonemes = (0..<4).map { vocabulary.phonemeBase + Int32($0) }
        for seed in 0..<3 as Range<UInt64> {
            (speaker.seed, speaker.temperature, speaker.topK) = (seed, 3, nil)   // a flat distribution visits every branch
            let generation = speaker.generate(phonemeTokens: phonemes)
            XCTAssertFalse(generation.durations.isEmpty, "the first token is the first phoneme")
            XCTAssertTrue(generation.durations.allSatisfy { $0 >= 1 } || generation.truncated, "\(generation.durations)")
            XCTAssertLessThanOrEqual(generation.durations.count, phonemes.count)
            XCTAssertEqual(generation.durations.reduce(0, +), generation.units.count)
            if !generation.truncated { XCTAssertEqual(generation.durations.count, phonemes.count, "it ends after the last phoneme") }
        }
        let speech = try speaker.say(phonemes: Array(vocabulary.phonemes.prefix(3)))
        XCTAssertEqual(speech.samples.count, (speech.mel.frameCount - 1) * vocabulary.mel.hopLength)
        XCTAssertThrowsError(try speaker.say(phonemes: ["not-a-phoneme"])) {
            XCTAssertTrue("\($0)".contains("'not-a-phoneme' is not in the model's inventory"), "\($0)")
        }
        XCTAssertThrowsError(try speaker.say(phonemes: Array(vocabulary.phonemes.prefix(3)), pace: 2)) {
            XCTAssertTrue("\($0)".contains("a speech-unit LM chooses its own durations"), "\($0)")
        }
        // A spoken LM of the speech layout does not speak text.
        XCTAssertThrowsError(try UnitTextToSpeech.load(try Self.unitLM(.speech, root: root))) {
            XCTAssertTrue("\($0)".contains("trained on speech speech-unit documents; text-to-speech needs a model of the tts"), "\($0)")
        }
    }

    func testTheJudgeReadsAUnitLMAndCountsResynthesis() throws {
        let root = try makeTemporaryDirectory()
        let run = try Self.unitLM(.tts, root: root)
        let speaker = try loadSpeechSynthesizer(run, griffinLimIterations: 2)
        XCTAssertTrue(speaker is UnitTextToSpeech)
        XCTAssertTrue(try loadSpeechSynthesizer(Self.prepared.aligner, griffinLimIterations: 2) is TextToSpeech)
        let corpus = try TTSCorpus.load(Self.prepared.corpus)
        var judge = TextToSpeechJudge()
        (judge.utteranceLimit, judge.samples) = (2, 1)
        let judgement = try judge.run(speaker: speaker, recognizer: try TextToSpeechTests.recognizer(root, corpus: Self.prepared.corpus),
                                      recognizerName: "ft", corpus: corpus, out: root.appendingPathComponent("judge"))
        XCTAssertNotNil(judgement.perResynthesis)
        XCTAssertGreaterThan(judgement.mcdResynthesis ?? 0, 0)
        XCTAssertEqual(judgement.synthesizedEdits.words, corpus.test.prefix(2).reduce(0) { $0 + ($1.wordPhonemes?.count ?? 1) })
        let report = try String(contentsOf: root.appendingPathComponent("judge/report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("Resynthesis (the real frames through the speech units and back)"))
    }

    func testSpokenPreferencePairsAndScores() throws {
        var test = SpokenPreferenceTest()
        (test.lexicalPairs, test.syntacticPairs, test.continuationPairs, test.minimumCount, test.minimumLetters) = (3, 2, 2, 1, 4)
        let train = ["The quick brown horse jumps", "the quick brown horse sleeps", "brown horse",
                     "a i we us am an cat dog top bird fish tree sleepy garden contentious"]   // a word of every length
        let heldOut = ["now is the winter of our discontent", "so fair and foul a day"]
        // A fake pronunciation in which "quock" sounds like "quick": that change is never the non-word.
        let pairs = test.pairs(trainTexts: train, testTexts: heldOut, pronounce: { $0 == "quock" ? ["quick"] : [$0] })
        let lexical = pairs.filter { $0.kind == "lexical" }, syntactic = pairs.filter { $0.kind == "syntactic" }
        XCTAssertEqual(lexical.count, 3)
        XCTAssertEqual(syntactic.count, 2)
        let known = Set(train.flatMap(SpeechUnitPreparation.normalisedWords) + heldOut.flatMap(SpeechUnitPreparation.normalisedWords))
        for pair in lexical {
            XCTAssertTrue(known.contains(pair.preferred))
            XCTAssertFalse(known.contains(pair.other))
            XCTAssertNotEqual(pair.other, "quock")
            let changes = zip(pair.preferred, pair.other).filter { $0 != $1 }
            XCTAssertEqual(changes.count, 1)
            XCTAssertTrue(changes.allSatisfy { "aeiou".contains($0.0) && "aeiou".contains($0.1) }, "one vowel for another")
        }
        for pair in syntactic {
            XCTAssertEqual(pair.preferred.split(separator: " ").sorted(), pair.other.split(separator: " ").sorted())
            XCTAssertNotEqual(pair.preferred, pair.other)
        }
        for kind in [SpokenPreferenceTest.speechToText, SpokenPreferenceTest.textToSpeech] {
            let continuations = pairs.filter { $0.kind == kind }
            XCTAssertEqual(continuations.count, 2)
            for pair in continuations {
                // The held-out line goes on with the preferred word; the other has as many letters and is another word.
                let line = heldOut.map { SpeechUnitPreparation.normalisedWords($0).joined(separator: " ") }
                XCTAssertTrue(line.contains { $0.hasPrefix(pair.prefix! + " " + pair.preferred) }, "\(pair)")
                XCTAssertEqual(pair.preferred.count, pair.other.count)
                XCTAssertNotEqual(pair.preferred, pair.other)
            }
        }

        // The whole test on two small LMs, through the command.
        let root = try makeTemporaryDirectory()
        let (speech, interleaved) = (try Self.unitLM(.speech, root: root), try Self.unitLM(.interleaved, root: root))
        let out = root.appendingPathComponent("words")
        let (status, output) = try runPretrain(["tts", "words", speech.path, interleaved.path, "--corpus", Self.prepared.corpus.path,
                                                "--lexical", "4", "--syntactic", "2", "--continuation", "2", "--out", out.path])
        XCTAssertEqual(status, 0, output)
        let report = try JSONDecoder().decode(SpokenPreferenceTest.Report.self,
                                              from: Data(contentsOf: out.appendingPathComponent("preference.json")))
        XCTAssertEqual(report.scores.count, 2)
        for scores in report.scores.values {
            XCTAssertEqual(Set(scores.map(\.kind)), ["lexical", "syntactic", "speech→text", "text→speech"])
            for score in scores { XCTAssertTrue((0...1).contains(score.accuracy), "\(score)") }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("audio/lexical/0-a.wav").path))
        // Identical candidates tie (half a point); only the tokens after the shared prefix count.
        let model = try loadCheckpoint(speech).decoder!
        let unit = try SpeechUnitVocabulary.read(Self.prepared.units.appendingPathComponent(SpeechUnitVocabulary.fileName)).unitBase
        let same = SpokenPreferenceTest.Documents(preferred: [0, 2, unit, unit + 1], other: [0, 2, unit, unit + 1], scoredFrom: 2)
        XCTAssertEqual(SpokenPreferenceTest.score(model, pairs: [pairs[0]], documents: [same]).first?.accuracy, 0.5)
    }

    /// Frames that are exactly a sum of per-(offset, unit) frames are rebuilt by the fitted decoder; without context it
    /// is each unit's mean frame; the file round-trips and another file is refused by name.
    func testTheUnitToMelDecoderFitsContextAndRoundTrips() throws {
        let (k, d) = (3, 2)
        var generator = RandomGenerator(seed: 5)
        let table = (0..<(3 * k * d)).map { _ in Float(generator.nextInt(below: 9)) - 4 }   // W_{−1}, W_0, W_1
        func frames(_ units: [Int]) -> FeatureMatrix {
            var values: [Float] = []
            for t in units.indices {
                for j in 0..<d {
                    values.append((0..<3).reduce(Float(0.5)) { sum, slot in
                        sum + table[(slot * k + units[min(max(t + slot - 1, 0), units.count - 1)]) * d + j]
                    })
                }
            }
            return FeatureMatrix(frameCount: units.count, dimension: d, values: values)
        }
        let utterances = (0..<40).map { _ in (0..<12).map { _ in generator.nextInt(below: k) } }
        let decoder = UnitMelDecoder.fit(utterances.map { ($0, frames($0)) }, unitCount: k, context: 1, ridge: 1e-6)
        let unseen = [2, 0, 0, 1, 2, 1, 1, 0]
        for (a, b) in zip(decoder.decode(unseen).values, frames(unseen).values) { XCTAssertEqual(a, b, accuracy: 1e-3) }

        let means = UnitMelDecoder.fit([([0, 0, 1], FeatureMatrix(frameCount: 3, dimension: 1, values: [1, 3, 7]))], unitCount: 2,
                                       context: 0, ridge: 1e-9)
        XCTAssertEqual(means.decode([0, 1]).values[0], 2, accuracy: 1e-4)
        XCTAssertEqual(means.decode([0, 1]).values[1], 7, accuracy: 1e-4)

        let url = try makeTemporaryDirectory().appendingPathComponent(UnitMelDecoder.fileName)
        try decoder.write(to: url)
        XCTAssertEqual(try UnitMelDecoder.read(url), decoder)
        let other = url.deletingLastPathComponent().appendingPathComponent("other.safetensors")
        try KMeansCentroids.write(Tensor([1, 2, 3, 4], shape: [2, 2]), to: other, metadata: [:])
        XCTAssertThrowsError(try UnitMelDecoder.read(other)) {
            XCTAssertEqual("\($0)", "\(other.path): not a unit-to-mel decoder of pretrain tts units")
        }
        // The prepared corpus has one for its units; a unit LM uses it, and refuses one of other units.
        let prepared = try UnitMelDecoder.read(Self.prepared.units.appendingPathComponent(UnitMelDecoder.fileName))
        XCTAssertEqual([prepared.unitCount, prepared.context], [8, 2])
        var speaker = try UnitTextToSpeech.load(try Self.unitLM(.tts, root: try makeTemporaryDirectory()), griffinLimIterations: 2)
        try speaker.useDecoder(Self.prepared.units.appendingPathComponent(UnitMelDecoder.fileName))
        XCTAssertEqual(speaker.decoder, prepared)
        XCTAssertThrowsError(try speaker.useDecoder(url)) { XCTAssertTrue("\($0)".contains("a decoder of 3 units and 2 bins"), "\($0)") }
    }

    func testSkipsAndRepeatsCountWhatTheRecogniserLost() {
        let reference = ["h", "ə", "l", "oʊ", "w", "ɜː", "l", "d"]
        let clean = SkipsAndRepeats(heard: reference, reference: reference, wordLengths: [4, 4])
        XCTAssertEqual(clean, { var c = SkipsAndRepeats(); c.words = 2; return c }())
        // The second word gone: four deletions, one skipped word.
        let skipped = SkipsAndRepeats(heard: Array(reference.prefix(4)), reference: reference, wordLengths: [4, 4])
        XCTAssertEqual([skipped.deletions, skipped.skippedWords, skipped.insertedRuns], [4, 1, 0])
        // The first word said twice: one inserted run of four.
        let repeated = SkipsAndRepeats(heard: Array(reference.prefix(4)) + reference, reference: reference, wordLengths: [4, 4])
        XCTAssertEqual([repeated.insertions, repeated.insertedRuns, repeated.skippedWords], [4, 1, 0])
        // Two inserted phonemes apart are not a run; one substitution is neither.
        let scattered = SkipsAndRepeats(heard: ["x", "h", "ə", "l", "oʊ", "x", "w", "ɜː", "l", "t"], reference: reference, wordLengths: nil)
        XCTAssertEqual([scattered.insertions, scattered.insertedRuns, scattered.substitutions, scattered.words], [2, 0, 1, 1])
    }

    func testUnitsCommandNamesABadAligner() throws {
        let out = try makeTemporaryDirectory()
        let (status, output) = try runPretrain(["tts", "units", "--corpus", Self.prepared.corpus.path, "--aligner", "/nonexistent/run",
                                                "--out", out.path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("/nonexistent/run"), output)
    }
}
