/// How one utterance is degraded so the tasks are not trivial: sox reverberation (sometimes), additive noise of a
/// seeded colour at a seeded signal-to-noise ratio, and a level change. All drawn from the utterance's own stream.
public struct Augmentation: Codable, Equatable {
    public enum NoiseColour: String, Codable, CaseIterable { case white, pink, brown }

    /// Arguments of sox's `reverb` effect (Freeverb): reverberance %, HF damping %, room scale %, stereo depth %,
    /// pre-delay ms, wet gain dB. nil: dry.
    public var reverb: [Int]?
    public var noise: NoiseColour
    public var snrDB: Double
    public var gainDB: Double

    public init(reverb: [Int]?, noise: NoiseColour, snrDB: Double, gainDB: Double) {
        self.reverb = reverb; self.noise = noise; self.snrDB = snrDB; self.gainDB = gainDB
    }

    /// A recording left as espeak-ng spoke it: no reverberation, no level change, and noise 200 dB below the speech
    /// (zero once rounded to 16 bits).
    public static let clean = Augmentation(reverb: nil, noise: .white, snrDB: 200, gainDB: 0)

    public static let snrRange = 5.0...30.0
    public static let gainRange = -10.0...0.0
    /// Share of utterances that get reverberation.
    public static let reverbProbability = 0.6

    public static func draw(_ random: inout SeededRandom) -> Augmentation {
        let reverb: [Int]? = random.unit() < reverbProbability
            ? [10 + random.index(61), 20 + random.index(61), 20 + random.index(81), 100, random.index(21),
               -6 + random.index(7)]
            : nil
        return Augmentation(reverb: reverb, noise: random.pick(NoiseColour.allCases),
                            snrDB: round1(random.uniform(snrRange)), gainDB: round1(random.uniform(gainRange)))
    }

    /// One decimal place, so the manifest shows the value that was used, exactly.
    static func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }
}
