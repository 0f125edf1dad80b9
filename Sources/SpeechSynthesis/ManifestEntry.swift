/// One manifest line: where the audio is, what is said, by whom, in which language, and the labels.
public struct ManifestEntry: Codable, Equatable {
    public let path: String        // relative to the corpus directory
    public let subset: String      // pretrain | ks | sid | lid | pr
    public let split: String       // train | dev | test
    public let duration: Double    // seconds
    public let text: String
    public let phonemes: String    // espeak-ng IPA phonemes separated by spaces (PhonemeTokens)
    /// The phoneme count of each espeak-ng word, separated by spaces (`PhonemeTokens.wordLengths`); text-to-speech
    /// utterances only, nil elsewhere.
    public var wordPhonemes: String? = nil
    public let speaker: String?    // nil for a silence clip
    public let voice: String?      // espeak-ng -v (accent + variant); nil for a silence clip
    public let accent: String?     // the voice's language or accent, "en-us" of "en-us+m3"; nil for a silence clip
    /// The gender the voice variant's espeak-ng file declares ("male", "female"), "unstated" where it declares none;
    /// nil for a silence clip.
    public let gender: String?
    public let language: String?   // nil for a silence clip
    public let label: String?      // keyword class, speaker id or language; nil for pretrain and pr
    public let noise: String
    public let snrDB: Double?      // nil for a silence clip (noise at −20 dBFS RMS before the gain)
    public let gainDB: Double
    public let reverb: [Int]?

    enum CodingKeys: String, CodingKey {
        case path, subset, split, duration, text, phonemes, speaker, voice, accent, gender, language, label, noise, reverb
        case snrDB = "snr_db", gainDB = "gain_db", wordPhonemes = "word_phonemes"
    }
}
