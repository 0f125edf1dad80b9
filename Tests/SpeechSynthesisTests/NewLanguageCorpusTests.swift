import SpeechSynthesis
import XCTest

/// A corpus for a new language (--pretrain-language X --pr-language X): pre-training and phoneme recognition in X
/// alone, transcribed by espeak-ng's X voice; the default corpus does not change.
final class NewLanguageCorpusTests: XCTestCase {
    func plan(_ change: (inout SynthesisOptions) -> Void = { _ in }) -> CorpusPlan {
        var options = SynthesisOptions()
        change(&options)
        return CorpusPlan(options: options, texts: CorpusPlanTests.texts)
    }

    func testPretrainingAndPhonemeRecognitionAreSpokenInTheNewLanguage() {
        let finnish = plan { $0.pretrainLanguage = "fi"; $0.prLanguage = "fi" }
        let pretraining = (0..<200).map(finnish.pretrainUtterance)
        XCTAssertTrue(pretraining.allSatisfy { $0.language == "fi" && $0.voice!.hasPrefix("fi+") && $0.label == nil })
        let words = Set(WordLists.vocabulary["fi"]!.flatMap { $0.split(separator: " ").map(String.init) })
        XCTAssertTrue(pretraining.allSatisfy { $0.text.split(separator: " ").allSatisfy { words.contains(String($0)) || Int($0) != nil } })
        XCTAssertGreaterThan(Set(pretraining.compactMap { $0.speaker?.id }).count, 40, "the whole speaker pool")
        let pr = finnish.labelledUtterances().filter { $0.subset == "pr" }
        XCTAssertEqual(pr.count, 800)
        XCTAssertTrue(pr.allSatisfy { $0.language == "fi" && $0.voice!.hasPrefix("fi+") })
        // Speakers stay disjoint across splits, as for English phoneme recognition.
        let speakers = Dictionary(grouping: pr, by: \.split).mapValues { Set($0.compactMap { $0.speaker?.id }) }
        XCTAssertTrue(speakers["train"]!.isDisjoint(with: speakers["test"]!))
    }

    func testTheDefaultPlanIsUnchanged() {
        let english = plan(), unset = plan { $0.pretrainLanguage = nil; $0.prLanguage = nil }
        XCTAssertEqual((0..<50).map(english.pretrainUtterance), (0..<50).map(unset.pretrainUtterance))
        XCTAssertTrue(english.labelledUtterances().filter { $0.subset == "pr" }.allSatisfy { $0.language == "en" })
        // Only the pr subset follows --pr-language; the pre-training mix follows --pretrain-language alone.
        let prOnly = plan { $0.prLanguage = "fi" }
        XCTAssertEqual((0..<50).map(prOnly.pretrainUtterance), (0..<50).map(english.pretrainUtterance))
        XCTAssertEqual(prOnly.labelledUtterances().filter { $0.subset == "ks" }, english.labelledUtterances().filter { $0.subset == "ks" })
    }

    func testATinyFinnishCorpusHasFinnishPhonemeTranscripts() throws {
        var options = SpeechCorpusSynthesizerTests.tinyOptions()
        options.subsets = ["pretrain", "pr"]
        options.pretrainLanguage = "fi"
        options.prLanguage = "fi"
        options.prUtterances = SplitSizes(train: 3, dev: 1, test: 1)
        let directory = Repository.temporaryDirectory("finnish")
        defer { try? FileManager.default.removeItem(at: directory) }
        let summary = try SpeechCorpusSynthesizerTests.synthesize(into: directory, jobs: 2, options: options)
        XCTAssertEqual(summary.subsets["pr"]?["train"]?.utterances, 3)
        let lines = try String(contentsOf: directory.appendingPathComponent("manifest.jsonl"), encoding: .utf8).split(separator: "\n")
        let entries = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertTrue(entries.allSatisfy { $0["language"] as? String == "fi" }, "\(entries.map { $0["language"] ?? "-" })")
        let pr = entries.filter { $0["subset"] as? String == "pr" }
        XCTAssertEqual(pr.count, 5)
        XCTAssertTrue(pr.allSatisfy { !(($0["phonemes"] as? String) ?? "").isEmpty }, "every pr utterance is transcribed")
        let inventory = try String(contentsOf: directory.appendingPathComponent("phonemes.txt"), encoding: .utf8)
        XCTAssertFalse(inventory.contains("ɹ"), "espeak-ng's Finnish voice, not English: \(inventory)")
        XCTAssertThrowsError(try SpeechCorpusSynthesizerTests.synthesize(into: directory, jobs: 1, options: SpeechCorpusSynthesizerTests.tinyOptions())) {
            XCTAssertTrue("\($0)".contains("made with other settings"), "a default corpus never resumes a Finnish one: \($0)")
        }
    }

    func testTheDefaultCorpusFilesDoNotMentionTheNewOptions() throws {
        let directory = Repository.temporaryDirectory("default-identity")
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = SpeechCorpusSynthesizerTests.tinyOptions()
        options.subsets = ["pretrain"]
        _ = try SpeechCorpusSynthesizerTests.synthesize(into: directory, jobs: 1, options: options)
        for file in [CorpusFiles.identity, CorpusFiles.summary] {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            XCTAssertFalse(text.contains("pretrainLanguage") || text.contains("prLanguage"), "\(file) is as before: \(text)")
        }
    }

    func testAnUnknownNewLanguageIsNamed() {
        var options = SpeechCorpusSynthesizerTests.tinyOptions()
        options.pretrainLanguage = "xx-nowhere"
        XCTAssertThrowsError(try SpeechCorpusSynthesizerTests.synthesize(into: Repository.temporaryDirectory("bad-new-language"),
                                                                         jobs: 1, options: options)) {
            XCTAssertTrue("\($0)".contains("unknown language 'xx-nowhere'"), "\($0)")
        }
    }

    /// The nine Indian languages: a multilingual pre-training mix draws phrases of each in its own script and voice,
    /// and espeak-ng reads every word of every vocabulary in that language (no word is switched to English, which
    /// espeak-ng marks "(en)", and none is left without phonemes).
    func testIndicLanguagesArePlannedAndEveryWordIsReadInItsLanguage() throws {
        let indic = plan { $0.languages = WordLists.indicLanguages }
        let pretraining = (0..<400).map(indic.pretrainUtterance)
        XCTAssertEqual(Set(pretraining.compactMap(\.language)), Set(WordLists.indicLanguages))
        let espeak = try ExternalTools.locate("espeak-ng")
        for language in WordLists.indicLanguages {
            let words = try XCTUnwrap(WordLists.vocabulary[language], language)
            XCTAssertGreaterThanOrEqual(words.count, 30, language)
            let spoken = try ExternalTools.run(espeak, ["-q", "--ipa", "-v", language, words.joined(separator: " , ")]).stdout
            XCTAssertFalse(spoken.contains("(en)"), "\(language): \(spoken)")
            XCTAssertGreaterThanOrEqual(spoken.split(whereSeparator: { $0 == " " || $0 == "\n" }).count, words.count, "\(language): \(spoken)")
        }
    }
}
