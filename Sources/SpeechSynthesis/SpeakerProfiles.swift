/// A synthetic speaker: an espeak-ng voice variant (formant set, breathiness, intonation), a pitch, a speaking rate
/// and an English accent (used when the speaker speaks English; other languages use that language's voice).
public struct SpeakerProfile: Codable, Hashable {
    public let id: String          // "spk007"
    public let variant: String     // espeak-ng variant, appended as "+variant"
    public let pitch: Int          // espeak-ng -p, 0...99 (50 is the voice's own)
    public let rate: Int           // espeak-ng -s, words per minute
    public let englishAccent: String

    /// The espeak-ng -v argument for `language`.
    public func voice(language: String) -> String {
        (language == "en" ? englishAccent : language) + "+" + variant
    }
}

public enum SpeakerProfiles {
    /// espeak-ng 1.51's voice variants that sound like distinct people (robots, "Demonic" and the test voices left
    /// out, and "caleb", which sounds exactly like "klatt"); all 45 give different audio for the same words.
    public static let variants = [
        "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3",
        "klatt4", "adam", "Andy", "annie", "aunty", "belinda", "benjamin", "boris", "david", "ed", "edward",
        "Gene", "gustave", "iven", "john", "linda", "max", "Michael", "norbert", "paul", "quincy", "robert", "steph",
        "travis", "victor", "zac", "grandma", "grandpa", "whisper",
    ]
    /// The `gender` line of each variant's file in espeak-ng 1.51's voices/!v/ (lowercased); variants whose file has
    /// none are "unstated" (espeak-ng itself then treats the voice as male).
    public static let declaredGenders: [String: String] = [
        "m1": "male", "m2": "male", "m3": "male", "m4": "male", "m5": "male", "m6": "male", "m7": "male", "m8": "male",
        "Andy": "male", "travis": "male", "victor": "male", "whisper": "male",
        "f1": "female", "f2": "female", "f3": "female", "f4": "female", "f5": "female", "annie": "female", "aunty": "female",
        "belinda": "female", "linda": "female", "steph": "female", "grandma": "female",
    ]

    public static func gender(variant: String) -> String { declaredGenders[variant] ?? "unstated" }

    public static let englishAccents = ["en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
                                        "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]
    public static let pitchRange = 20...80
    public static let rateRange = 130...210

    /// `count` speakers drawn from `seed`. The first `variants.count` use distinct variants (in a seeded order);
    /// later ones reuse variants with other pitches and rates, which makes speakers harder to tell apart.
    public static func pool(count: Int, seed: UInt64) -> [SpeakerProfile] {
        var random = SeededRandom(seed: seed, name: "speakers")
        var order = variants
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, random.index(i + 1)) }
        return (0..<count).map { i in
            SpeakerProfile(id: String(format: "spk%03d", i), variant: order[i % order.count],
                           pitch: pitchRange.lowerBound + random.index(pitchRange.count),
                           rate: rateRange.lowerBound + random.index(rateRange.count),
                           englishAccent: random.pick(englishAccents))
        }
    }
}
