import Foundation

/// One utterance to render: everything about it is decided here, before any audio exists, from the corpus seed
/// and the utterance's path alone.
public struct UtteranceSpec: Equatable {
    public let path: String            // relative to the corpus directory, "ks/train/yes/0003.wav"
    public let subset: String
    public let split: String
    public let text: String            // "" for a silence clip
    public let language: String?       // nil for a silence clip
    public let speaker: SpeakerProfile?
    public let voice: String?          // espeak-ng -v, "en-us+m3"; nil for a silence clip
    public let label: String?          // the class to predict (keyword, speaker id, language); nil when none
    public let augmentation: Augmentation
    /// Keyword clips are padded to one second like Speech Commands; the word sits at `placement` of the slack.
    public let minimumSeconds: Double
    public let placement: Double

    /// An utterance of the text-to-speech subset: `text` in its one clean voice (`voice`, espeak-ng's -v).
    public static func tts(path: String, split: String, text: String, voice: String) -> UtteranceSpec {
        UtteranceSpec(path: path, subset: "tts", split: split, text: text, language: "en",
                      speaker: SpeakerProfile(id: "tts", variant: "", pitch: 50, rate: 160, englishAccent: voice), voice: voice,
                      label: nil, augmentation: .clean, minimumSeconds: 0, placement: 0)
    }
}

/// The labelled subsets in order, and the unbounded pre-training sequence.
public struct CorpusPlan {
    public let options: SynthesisOptions
    public let speakers: [SpeakerProfile]
    public let texts: ShakespeareLines

    public init(options: SynthesisOptions, texts: ShakespeareLines) {
        self.options = options
        self.texts = texts
        speakers = SpeakerProfiles.pool(count: options.speakerPool, seed: options.seed)
    }

    /// Speakers of a split for the tasks whose splits have disjoint speakers: every fifth speaker goes to dev,
    /// the one after it to test, the other three to train.
    public func speakers(split: String) -> [SpeakerProfile] {
        let slot = ["train": [0, 1, 2], "dev": [3], "test": [4]][split] ?? [0, 1, 2]
        return speakers.enumerated().filter { slot.contains($0.offset % 5) }.map(\.element)
    }

    public var sidSpeakers: [SpeakerProfile] { Array(speakers.prefix(options.sidSpeakers)) }

    /// Phoneme recognition is spoken in one accent, so that its transcripts share one phoneme inventory
    /// (eight accents together have about eighty espeak-ng phonemes, American English about fifty).
    public static let phonemeAccent = "en-us"

    /// Every labelled utterance, subset by subset, split by split.
    public func labelledUtterances() -> [UtteranceSpec] {
        var specs: [UtteranceSpec] = []
        for subset in options.subsets where subset != "pretrain" {
            for split in SplitSizes.splits { specs += utterances(subset: subset, split: split) }
        }
        return specs
    }

    func utterances(subset: String, split: String) -> [UtteranceSpec] {
        switch subset {
        case "ks":
            return WordLists.keywordClasses.flatMap { label in
                (0..<options.keywordsPerClass.count(split)).map { keywordUtterance(label: label, split: split, index: $0) }
            }
        case "sid":
            return sidSpeakers.flatMap { speaker in
                (0..<options.sidPerSpeaker.count(split)).map { index -> UtteranceSpec in
                    let path = "sid/\(split)/\(speaker.id)/\(number(index)).wav"
                    var random = stream(path)
                    return spec(path: path, split: split, text: random.pick(texts.lines(split: split)), language: "en",
                                speaker: speaker, label: speaker.id, random: &random)
                }
            }
        case "lid":
            return options.languages.flatMap { language in
                (0..<options.lidPerLanguage.count(split)).map { index -> UtteranceSpec in
                    let path = "lid/\(split)/\(language)/\(number(index)).wav"
                    var random = stream(path)
                    let speaker = random.pick(speakers(split: split))
                    return spec(path: path, split: split, text: WordLists.lidText(language: language, random: &random),
                                language: language, speaker: speaker, label: language, random: &random)
                }
            }
        case "pr":
            return (0..<options.prUtterances.count(split)).map { index in
                let path = "pr/\(split)/\(number(index)).wav"
                var random = stream(path)
                let speaker = random.pick(speakers(split: split))
                if let language = options.prLanguage {
                    return spec(path: path, split: split, text: WordLists.phrase(language: language, random: &random),
                                language: language, speaker: speaker, label: nil, random: &random)
                }
                return spec(path: path, split: split, text: random.pick(texts.lines(split: split)), language: "en",
                            speaker: speaker, label: nil, random: &random, accent: Self.phonemeAccent)
            }
        case "tts":
            return (0..<options.ttsUtterances.count(split)).map { index in
                let path = "tts/\(split)/\(number(index)).wav"
                var random = stream(path)
                return UtteranceSpec.tts(path: path, split: split, text: random.pick(texts.lines(split: split)),
                                         voice: options.ttsVoice)
            }
        default:
            return []
        }
    }

    func keywordUtterance(label: String, split: String, index: Int) -> UtteranceSpec {
        let path = "ks/\(split)/\(label)/\(number(index)).wav"
        var random = stream(path)
        if label == WordLists.silenceLabel {
            return UtteranceSpec(path: path, subset: "ks", split: split, text: "", language: nil, speaker: nil,
                                 voice: nil, label: label, augmentation: Augmentation.draw(&random), minimumSeconds: 1,
                                 placement: 0)
        }
        let word = label == WordLists.unknownLabel ? random.pick(WordLists.unknownWords) : label
        let speaker = random.pick(speakers(split: split))
        return spec(path: path, split: split, text: word, language: "en", speaker: speaker, label: label,
                    random: &random, minimumSeconds: 1)
    }

    /// Pre-training utterance `index` (0, 1, 2, … until the hours are reached): mostly English Shakespeare lines
    /// from the train plays, some phrases in the other languages, any speaker of the pool; with `pretrainLanguage`,
    /// phrases in that language only.
    public func pretrainUtterance(index: Int) -> UtteranceSpec {
        let path = "pretrain/train/\(String(format: "%06d", index)).wav"
        var random = stream(path)
        let speaker = random.pick(speakers)
        if let language = options.pretrainLanguage {
            return spec(path: path, split: "train", text: WordLists.phrase(language: language, random: &random),
                        language: language, speaker: speaker, label: nil, random: &random)
        }
        let others = options.languages.filter { $0 != "en" }
        let english = options.languages.contains("en")
        if !others.isEmpty && (!english || random.unit() < options.pretrainOtherLanguages) {
            let language = random.pick(others)
            return spec(path: path, split: "train", text: WordLists.phrase(language: language, random: &random),
                        language: language, speaker: speaker, label: nil, random: &random)
        }
        return spec(path: path, split: "train", text: random.pick(texts.train), language: "en", speaker: speaker,
                    label: nil, random: &random)
    }

    private func spec(path: String, split: String, text: String, language: String, speaker: SpeakerProfile,
                      label: String?, random: inout SeededRandom, minimumSeconds: Double = 0,
                      accent: String? = nil) -> UtteranceSpec {
        UtteranceSpec(path: path, subset: String(path.prefix { $0 != "/" }), split: split, text: text,
                      language: language, speaker: speaker,
                      voice: accent.map { $0 + "+" + speaker.variant } ?? speaker.voice(language: language),
                      label: label, augmentation: Augmentation.draw(&random),
                      minimumSeconds: minimumSeconds, placement: random.unit())
    }

    private func stream(_ path: String) -> SeededRandom { SeededRandom(seed: options.seed, name: path) }
    private func number(_ index: Int) -> String { String(format: "%04d", index) }
}
