import Foundation
import SpeechSynthesis

/// General MIDI's pitched instrument families: family f holds programs 8f ..< 8f + 8. Synth effects, percussive and
/// sound effects (families 12, 14, 15) are left out: their sound has no clear pitch for a label to name.
public enum InstrumentFamily: String, CaseIterable, Codable, Sendable {
    case piano, chromaticPercussion = "chromatic-percussion", organ, guitar, bass, strings, ensemble, brass, reed, pipe
    case synthLead = "synth-lead", synthPad = "synth-pad", ethnic

    /// The family's index in General MIDI (its first program is 8 × this).
    public var generalMIDIIndex: Int {
        switch self {
        case .piano: return 0
        case .chromaticPercussion: return 1
        case .organ: return 2
        case .guitar: return 3
        case .bass: return 4
        case .strings: return 5
        case .ensemble: return 6
        case .brass: return 7
        case .reed: return 8
        case .pipe: return 9
        case .synthLead: return 10
        case .synthPad: return 11
        case .ethnic: return 13
        }
    }

    public var programs: Range<Int> { 8 * generalMIDIIndex ..< 8 * generalMIDIIndex + 8 }

    /// The notes drawn for single-note clips: where every program of the family sounds (the bass an octave and a half
    /// lower, the pipes and mallets higher).
    public var pitchRange: ClosedRange<Int> {
        switch self {
        case .piano: return 36...96
        case .chromaticPercussion: return 60...96
        case .organ: return 36...84
        case .guitar: return 40...76
        case .bass: return 28...55
        case .pipe: return 60...93
        case .synthLead: return 48...84
        case .strings, .ensemble, .synthPad: return 48...79
        case .brass: return 48...76
        case .reed: return 50...79
        case .ethnic: return 55...79
        }
    }
}

/// One clip of the music corpus: what to play (the MIDI file), how long to keep, and its exact labels.
public struct MusicClip: Equatable {
    public let subset: String            // "note" (one sustained note) or "phrase" (a melody over chords)
    public let index: Int
    public let split: String             // train | dev | test
    public let family: InstrumentFamily
    public let program: Int
    public let pitch: Int?               // note clips: the MIDI note played
    public let key: String?              // phrases: the tonic, "C" … "B"
    public let mode: String?             // phrases: "major" or "minor"
    public let beatsPerMinute: Double?   // phrases
    public let tempo: String?            // phrases: "slow" (< 90 BPM), "moderate" (< 130), "fast"
    public let midi: MIDIFile
    public let duration: Double          // seconds of audio kept (the notes and a release tail)

    public var name: String { "\(subset)/\(split)/\(String(format: "%05d", index))" }

    public init(subset: String, index: Int, split: String, family: InstrumentFamily, program: Int, pitch: Int?,
                key: String?, mode: String?, beatsPerMinute: Double?, tempo: String?, midi: MIDIFile, duration: Double) {
        (self.subset, self.index, self.split, self.family, self.program, self.pitch) = (subset, index, split, family, program, pitch)
        (self.key, self.mode, self.beatsPerMinute, self.tempo, self.midi, self.duration) = (key, mode, beatsPerMinute, tempo, midi, duration)
    }
}

/// The clips of a corpus, each drawn from its own stream (`SeededRandom(seed:name:)`), so a clip does not depend on
/// how many others there are or in what order they are rendered.
public enum MusicCorpusPlan {
    public static let keyNames = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    static let majorScale = [0, 2, 4, 5, 7, 9, 11], minorScale = [0, 2, 3, 5, 7, 8, 10]   // natural minor

    /// Every tenth clip from the ninth is dev, from the tenth test, the rest train.
    public static func split(_ index: Int) -> String { index % 10 == 8 ? "dev" : index % 10 == 9 ? "test" : "train" }

    public static func tempoBucket(_ beatsPerMinute: Double) -> String {
        beatsPerMinute < 90 ? "slow" : beatsPerMinute < 130 ? "moderate" : "fast"
    }

    /// Programs whose FluidR3 GM samples stop below their family's range: the highest note each renders (measured by
    /// rendering every fourth note of the range: Contrabass is silent from 60, Tuba from 76, Baritone Sax from 74).
    /// Note clips of them draw pitches up to it; phrases, whose melodies reach 83, do not use them.
    public static let pitchCeilings: [Int: Int] = [43: 55, 58: 72, 67: 70]

    public static func clips(notes: Int, phrases: Int, seed: UInt64) -> [MusicClip] {
        (0..<notes).map { note($0, seed: seed) } + (0..<phrases).map { phrase($0, seed: seed) }
    }

    /// A single note of a random program and pitch, held 1.5 s at 120 BPM, kept for 2 s.
    static func note(_ index: Int, seed: UInt64) -> MusicClip {
        let split = split(index)
        var random = SeededRandom(seed: seed, name: "note/\(split)/\(index)")
        let family = random.pick(InstrumentFamily.allCases)
        let program = random.pick(Array(family.programs))
        let range = family.pitchRange.clamped(to: family.pitchRange.lowerBound...(pitchCeilings[program] ?? Int.max))
        let pitch = range.lowerBound + random.index(range.count)
        let velocity = 70 + random.index(41)
        let midi = MIDIFile(beatsPerMinute: 120, program: program,
                            notes: [.init(pitch: pitch, velocity: velocity, start: 0, length: 3 * 480)])
        return MusicClip(subset: "note", index: index, split: split, family: family, program: program, pitch: pitch,
                         key: nil, mode: nil, beatsPerMinute: nil, tempo: nil, midi: midi, duration: 2)
    }

    /// Two bars of 4/4 in a random key, mode and tempo (60–180 BPM): the chords I–IV–V–I (i–iv–v–i in minor) as
    /// triads of the scale, two beats each, under a melody of eight quarter notes drawn from the scale that ends on
    /// the tonic. Kept for the notes and half a second of release.
    static func phrase(_ index: Int, seed: UInt64) -> MusicClip {
        let split = split(index)
        var random = SeededRandom(seed: seed, name: "phrase/\(split)/\(index)")
        let family = random.pick(InstrumentFamily.allCases.filter { $0 != .bass && $0 != .chromaticPercussion })
        let program = random.pick(family.programs.filter { pitchCeilings[$0] == nil })
        let tonic = random.index(12), minor = random.index(2) == 1
        let scale = minor ? minorScale : majorScale
        let beatsPerMinute = (random.uniform(60...180) * 10).rounded() / 10
        let quarter = 480
        // Scale degree d (may exceed 6: the next octave) above the tonic's root in octave `base`.
        func noteOf(degree: Int, base: Int) -> Int { base + tonic + 12 * (degree / 7) + scale[degree % 7] }
        var notes: [MIDIFile.Note] = []
        for (slot, root) in [0, 3, 4, 0].enumerated() {
            for step in [0, 2, 4] {
                notes.append(.init(pitch: noteOf(degree: root + step, base: 48), velocity: 60, start: slot * 2 * quarter,
                                   length: 2 * quarter))
            }
        }
        for beat in 0..<8 {
            let degree = beat == 7 ? 7 : random.index(8)       // degrees 0…7 of the octave above, the tonic last
            notes.append(.init(pitch: noteOf(degree: degree, base: 60), velocity: 85 + random.index(21),
                               start: beat * quarter, length: quarter))
        }
        let midi = MIDIFile(beatsPerMinute: beatsPerMinute, program: program, notes: notes)
        return MusicClip(subset: "phrase", index: index, split: split, family: family, program: program, pitch: nil,
                         key: keyNames[tonic], mode: minor ? "minor" : "major", beatsPerMinute: beatsPerMinute,
                         tempo: tempoBucket(beatsPerMinute), midi: midi, duration: midi.duration + 0.5)
    }
}
