import Foundation

/// Utterance counts for the three splits of one unit (a keyword class, a speaker, a language, a subset).
public struct SplitSizes: Codable, Equatable {
    public var train: Int
    public var dev: Int
    public var test: Int

    public init(train: Int, dev: Int, test: Int) { self.train = train; self.dev = dev; self.test = test }

    /// "train,dev,test" as given on the command line, e.g. "100,30,30".
    public init(parsing text: String, flag: String) throws {
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, let train = parts[0], let dev = parts[1], let test = parts[2],
              train >= 0, dev >= 0, test >= 0 else {
            throw SynthesisError.badOption("\(flag) wants three counts train,dev,test (e.g. 100,30,30), got '\(text)'")
        }
        self.init(train: train, dev: dev, test: test)
    }

    public func count(_ split: String) -> Int { split == "dev" ? dev : split == "test" ? test : train }

    /// Every count times `factor`, rounded, and at least 1 where it was not 0 (a split never vanishes).
    public func scaled(by factor: Double) -> SplitSizes {
        func scale(_ count: Int) -> Int { count == 0 ? 0 : max(1, Int((Double(count) * factor).rounded())) }
        return SplitSizes(train: scale(train), dev: scale(dev), test: scale(test))
    }
    public static let splits = ["train", "dev", "test"]
}

/// What to synthesise. Everything that changes an utterance's audio or text is here and recorded in corpus.json;
/// the number of parallel jobs is not, because it changes nothing in the output.
public struct SynthesisOptions: Codable, Equatable {
    /// The subsets made by default.
    public static let allSubsets = ["pretrain", "ks", "sid", "lid", "pr"]
    /// Every subset there is: the default ones and `tts`, a text-to-speech corpus (asked for by name).
    public static let knownSubsets = allSubsets + ["tts"]

    public var seed: UInt64 = 0
    /// Unlabelled pre-training audio, hours (the subset grows utterance by utterance until it reaches this).
    public var hours: Double = 2
    public var subsets = SynthesisOptions.allSubsets
    /// Keyword spotting, utterances per class (12 classes) per split. 30 test utterances per class give the
    /// accuracy a standard error under 2.5 points at 80 %.
    public var keywordsPerClass = SplitSizes(train: 100, dev: 30, test: 30)
    /// Speaker identification: speakers, and utterances per speaker per split (texts differ across splits).
    public var sidSpeakers = 24
    public var sidPerSpeaker = SplitSizes(train: 20, dev: 8, test: 8)
    /// Language identification: utterances per language per split.
    public var languages = WordLists.defaultLanguages
    public var lidPerLanguage = SplitSizes(train: 50, dev: 20, test: 20)
    /// Phoneme recognition: English utterances per split.
    public var prUtterances = SplitSizes(train: 600, dev: 100, test: 100)
    /// Speakers in all; keyword spotting, language identification and phoneme recognition give each split its
    /// own speakers from this pool (3 : 1 : 1).
    public var speakerPool = 60
    /// Share of the pre-training set spoken in languages other than English (English comes from Shakespeare).
    public var pretrainOtherLanguages = 0.25
    /// A new-language corpus (continued pre-training for a language the default corpus lacks): when set, every
    /// pre-training utterance is a phrase in this espeak-ng language (nil: the default mix above).
    public var pretrainLanguage: String?
    /// When set, phoneme recognition is spoken in this language (phrases of its vocabulary, its espeak-ng voice
    /// and IPA) instead of American English Shakespeare.
    public var prLanguage: String?
    /// Text-to-speech: utterances per split, all spoken by one speaker (`ttsVoice`, the voice's own pitch, 160 words
    /// a minute) and left clean (no reverberation, noise or level change), as a TTS corpus is recorded.
    public var ttsUtterances = SplitSizes(train: 1500, dev: 50, test: 100)
    /// The espeak-ng voice of the tts subset.
    public var ttsVoice = "en-us"

    public init() {}

    /// The corpus `factor` times the size: the pre-training hours and every labelled subset's per-class,
    /// per-speaker, per-language and phoneme-recognition counts (speakers and languages stay, so every task keeps
    /// its classes). `--hours` alone changes only the unlabelled pre-training audio.
    public func scaled(by factor: Double) throws -> SynthesisOptions {
        guard factor > 0 && factor.isFinite else { throw SynthesisError.badOption("--scale must be a number > 0, got \(factor)") }
        var scaled = self
        scaled.hours = hours * factor
        scaled.keywordsPerClass = keywordsPerClass.scaled(by: factor)
        scaled.sidPerSpeaker = sidPerSpeaker.scaled(by: factor)
        scaled.lidPerLanguage = lidPerLanguage.scaled(by: factor)
        scaled.prUtterances = prUtterances.scaled(by: factor)
        scaled.ttsUtterances = ttsUtterances.scaled(by: factor)
        return scaled
    }

    public func validate() throws {
        if !(hours >= 0 && hours.isFinite) { throw SynthesisError.badOption("--hours must be a number ≥ 0, got \(hours)") }
        for subset in subsets where !Self.knownSubsets.contains(subset) {
            throw SynthesisError.badOption("unknown subset '\(subset)' (--subsets); known: \(Self.knownSubsets.joined(separator: ","))")
        }
        if ttsVoice.isEmpty || ttsVoice.contains(where: \.isWhitespace) {
            throw SynthesisError.badOption("--tts-voice wants one espeak-ng voice name, got '\(ttsVoice)'")
        }
        if languages.isEmpty { throw SynthesisError.badOption("--languages is empty") }
        for (flag, language) in [("--pretrain-language", pretrainLanguage), ("--pr-language", prLanguage)] {
            if let language, language.isEmpty || language.contains(where: \.isWhitespace) {
                throw SynthesisError.badOption("\(flag) wants one espeak-ng language name, got '\(language)'")
            }
        }
        if subsets.contains("sid") && sidSpeakers < 2 { throw SynthesisError.badOption("--sid-speakers must be at least 2") }
        if sidSpeakers > speakerPool { throw SynthesisError.badOption("--sid-speakers \(sidSpeakers) exceeds --speaker-pool \(speakerPool)") }
        if speakerPool < 5 { throw SynthesisError.badOption("--speaker-pool must be at least 5 (one speaker per split at 3:1:1)") }
    }
}
