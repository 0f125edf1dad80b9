import SpeechSynthesis
import XCTest

/// The plan (what each utterance says, who says it, how it is degraded) needs no tools, so these run without espeak-ng.
final class CorpusPlanTests: XCTestCase {
    static let texts = try! ShakespeareLines(directory: Repository.shakespeare)

    func plan(_ change: (inout SynthesisOptions) -> Void = { _ in }) -> CorpusPlan {
        var options = SynthesisOptions()
        change(&options)
        return CorpusPlan(options: options, texts: Self.texts)
    }

    func testKeywordSpottingHasTheTwelveSpeechCommandsClasses() {
        let specs = plan().labelledUtterances().filter { $0.subset == "ks" }
        XCTAssertEqual(Set(specs.compactMap(\.label)), Set(WordLists.keywordClasses))
        XCTAssertEqual(WordLists.keywordClasses.count, 12)
        for label in WordLists.keywordClasses {
            XCTAssertEqual(specs.filter { $0.label == label && $0.split == "test" }.count, 30, label)
        }
        for spec in specs where spec.label == WordLists.silenceLabel { XCTAssertEqual(spec.text, "") ; XCTAssertNil(spec.speaker) }
        for spec in specs where spec.label == WordLists.unknownLabel { XCTAssertTrue(WordLists.unknownWords.contains(spec.text)) }
        for spec in specs where WordLists.keywords.contains(spec.label!) { XCTAssertEqual(spec.text, spec.label) }
        XCTAssertTrue(specs.allSatisfy { $0.minimumSeconds == 1 })
    }

    /// The text-to-speech subset is asked for by name: one voice, clean audio, a split's texts from its own plays.
    func testTextToSpeechIsOneCleanSpeakerOnRequest() throws {
        XCTAssertTrue(plan().labelledUtterances().allSatisfy { $0.subset != "tts" }, "not made by default")
        let specs = plan { $0.subsets = ["tts"]; $0.ttsUtterances = SplitSizes(train: 40, dev: 5, test: 6); $0.ttsVoice = "en-gb" }
            .labelledUtterances()
        XCTAssertEqual(specs.count, 51)
        XCTAssertEqual(specs.filter { $0.split == "test" }.count, 6)
        XCTAssertEqual(Set(specs.compactMap(\.voice)), ["en-gb"])
        XCTAssertTrue(specs.allSatisfy { $0.augmentation == .clean && $0.augmentation.reverb == nil && $0.minimumSeconds == 0 })
        let textsBySplit = Dictionary(grouping: specs, by: \.split).mapValues { Set($0.map(\.text)) }
        XCTAssertTrue(textsBySplit["train"]!.isDisjoint(with: textsBySplit["test"]!))
        var bad = SynthesisOptions()
        bad.ttsVoice = "en us"
        XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("--tts-voice"), "\($0)") }
    }

    func testSpeakerIdentificationHasTwentyFourDistinctSpeakersAndDisjointTexts() {
        let plan = plan()
        let specs = plan.labelledUtterances().filter { $0.subset == "sid" }
        let speakers = Set(specs.compactMap(\.speaker))
        XCTAssertGreaterThanOrEqual(speakers.count, 20)
        XCTAssertEqual(Set(speakers.map { "\($0.variant) \($0.pitch) \($0.rate) \($0.englishAccent)" }).count, speakers.count)
        XCTAssertTrue(specs.allSatisfy { $0.label == $0.speaker?.id })
        let textsBySplit = Dictionary(grouping: specs, by: \.split).mapValues { Set($0.map(\.text)) }
        XCTAssertTrue(textsBySplit["train"]!.isDisjoint(with: textsBySplit["dev"]!))
        XCTAssertTrue(textsBySplit["train"]!.isDisjoint(with: textsBySplit["test"]!))
        XCTAssertTrue(textsBySplit["dev"]!.isDisjoint(with: textsBySplit["test"]!))
        for speaker in speakers {
            XCTAssertEqual(specs.filter { $0.speaker == speaker && $0.split == "train" }.count, 20)
        }
    }

    func testOtherTasksHaveDisjointSpeakersAcrossSplits() {
        let specs = plan().labelledUtterances().filter { ["ks", "lid", "pr"].contains($0.subset) }
        let bySplit = Dictionary(grouping: specs, by: \.split).mapValues { Set($0.compactMap { $0.speaker?.id }) }
        XCTAssertTrue(bySplit["train"]!.isDisjoint(with: bySplit["dev"]!))
        XCTAssertTrue(bySplit["train"]!.isDisjoint(with: bySplit["test"]!))
        XCTAssertTrue(bySplit["dev"]!.isDisjoint(with: bySplit["test"]!))
    }

    func testLanguageIdentificationCoversEightLanguages() {
        let specs = plan().labelledUtterances().filter { $0.subset == "lid" }
        XCTAssertEqual(Set(specs.compactMap(\.label)), Set(["en", "de", "fr", "es", "it", "nl", "pt", "pl"]))
        XCTAssertTrue(specs.allSatisfy { $0.label == $0.language && !$0.text.isEmpty })
        // Three phrases of at least two words: several seconds of the language, not one short phrase.
        XCTAssertTrue(specs.allSatisfy { $0.text.split(separator: ",").count == 3 && $0.text.split(separator: " ").count >= 6 },
                      specs.first.map(\.text) ?? "")
    }

    func testPhonemeRecognitionIsEnglishShakespeare() {
        let specs = plan().labelledUtterances().filter { $0.subset == "pr" }
        XCTAssertEqual(specs.count, 800)
        XCTAssertTrue(specs.allSatisfy { $0.language == "en" && $0.label == nil && $0.voice!.hasPrefix("en-us+") })
        XCTAssertTrue(specs.filter { $0.split == "test" }.allSatisfy { Self.texts.test.contains($0.text) })
    }

    func testThePlanFollowsTheSeedAlone() {
        XCTAssertEqual(plan().labelledUtterances(), plan().labelledUtterances())
        XCTAssertEqual(plan().pretrainUtterance(index: 5), plan().pretrainUtterance(index: 5))
        XCTAssertNotEqual(plan().pretrainUtterance(index: 5), plan { $0.seed = 1 }.pretrainUtterance(index: 5))
        // Sizes do not change an utterance, so a corpus can grow on resume.
        let small = plan { $0.keywordsPerClass = SplitSizes(train: 2, dev: 1, test: 1) }.labelledUtterances()
        let large = plan().labelledUtterances()
        XCTAssertEqual(small.first { $0.path == "ks/train/yes/0001.wav" }, large.first { $0.path == "ks/train/yes/0001.wav" })
    }

    func testPretrainingMixesEnglishShakespeareWithTheOtherLanguages() {
        let plan = plan()
        let specs = (0..<400).map(plan.pretrainUtterance)
        let english = specs.filter { $0.language == "en" }
        let train = Set(Self.texts.train)
        XCTAssertTrue(english.allSatisfy { train.contains($0.text) })
        XCTAssertEqual(Double(specs.count - english.count) / Double(specs.count), 0.25, accuracy: 0.07)
        XCTAssertGreaterThan(Set(specs.compactMap { $0.speaker?.id }).count, 40)
    }

    func testSplitSizesNameTheFlagWhenMalformed() {
        XCTAssertEqual(try SplitSizes(parsing: "10, 3,3", flag: "--ks"), SplitSizes(train: 10, dev: 3, test: 3))
        XCTAssertThrowsError(try SplitSizes(parsing: "10,3", flag: "--ks")) { XCTAssertTrue("\($0)".contains("--ks"), "\($0)") }
        XCTAssertThrowsError(try SplitSizes(parsing: "10,-1,3", flag: "--lid")) { XCTAssertTrue("\($0)".contains("--lid"), "\($0)") }
    }
}
