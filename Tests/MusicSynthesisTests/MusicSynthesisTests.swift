import Foundation
import MusicSynthesis
import SpeechSynthesis
import XCTest

/// The MIDI writer byte for byte, the clip plans' labels against what they play, and a small corpus rendered by
/// fluidsynth (whose pitch is checked in the audio).
final class MIDIFileTests: XCTestCase {
    func testOneNoteFileIsTheStandardBytes() {
        let file = MIDIFile(beatsPerMinute: 120, program: 40, notes: [.init(pitch: 60, velocity: 100, start: 0, length: 960)])
        let expected: [UInt8] = [
            0x4D, 0x54, 0x68, 0x64, 0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xE0,            // MThd, format 0, 1 track, 480 ticks
            0x4D, 0x54, 0x72, 0x6B, 0, 0, 0, 23,                                  // MTrk, 23 bytes
            0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,                              // tempo 500,000 µs a quarter
            0x00, 0xC0, 40,                                                        // program 40 (violin)
            0x00, 0x90, 60, 100,                                                   // note on
            0x87, 0x40, 0x80, 60, 0,                                               // 960 ticks later, note off
            0x00, 0xFF, 0x2F, 0x00,                                                // end of track
        ]
        XCTAssertEqual(Array(file.encoded()), expected)
        XCTAssertEqual(file.duration, 1, accuracy: 1e-12)
    }

    /// Offs sort before ons at the same tick, so a repeated note is released before it sounds again.
    func testEventsAreInTimeOrderWithOffsBeforeOns() {
        let file = MIDIFile(beatsPerMinute: 60, program: 0, notes: [.init(pitch: 62, velocity: 90, start: 480, length: 480),
                                                                     .init(pitch: 62, velocity: 80, start: 0, length: 480)])
        let track = Array(file.encoded().dropFirst(22 + 7 + 3))
        XCTAssertEqual(Array(track.prefix(16)), [0x00, 0x90, 62, 80, 0x83, 0x60, 0x80, 62, 0, 0x00, 0x90, 62, 90, 0x83, 0x60, 0x80])
    }
}

final class MusicCorpusPlanTests: XCTestCase {
    func testClipsDependOnlyOnTheSeedAndTheirIndex() {
        let few = MusicCorpusPlan.clips(notes: 5, phrases: 3, seed: 7)
        let more = MusicCorpusPlan.clips(notes: 40, phrases: 20, seed: 7)
        XCTAssertEqual(Array(more.prefix(5)), Array(few.prefix(5)))
        XCTAssertEqual(more.filter { $0.subset == "phrase" }.prefix(3).map(\.midi), few.suffix(3).map(\.midi))
        XCTAssertNotEqual(MusicCorpusPlan.clips(notes: 5, phrases: 0, seed: 8).map(\.midi), few.prefix(5).map(\.midi))
    }

    /// Every label is what the MIDI file plays: a note clip's program is in its family and its one note is its
    /// pitch label; a phrase's notes all belong to its key's scale, it ends on the tonic, and its tempo bucket is
    /// its BPM's.
    func testLabelsAreWhatTheClipsPlay() {
        let clips = MusicCorpusPlan.clips(notes: 300, phrases: 300, seed: 1)
        for clip in clips {
            XCTAssertTrue(clip.family.programs.contains(clip.program), clip.name)
            XCTAssertEqual(clip.midi.program, clip.program)
            if clip.subset == "note" {
                XCTAssertEqual(clip.midi.notes.map(\.pitch), [clip.pitch!], clip.name)
                XCTAssertTrue(clip.family.pitchRange.contains(clip.pitch!), clip.name)
                XCTAssertLessThanOrEqual(clip.pitch!, MusicCorpusPlan.pitchCeilings[clip.program] ?? 127, "\(clip.name): the soundfont is silent there")
                continue
            }
            XCTAssertNil(MusicCorpusPlan.pitchCeilings[clip.program], "\(clip.name): phrases reach notes this program does not sound")
            let tonic = MusicCorpusPlan.keyNames.firstIndex(of: clip.key!)!
            let scale = clip.mode == "major" ? [0, 2, 4, 5, 7, 9, 11] : [0, 2, 3, 5, 7, 8, 10]
            for note in clip.midi.notes {
                XCTAssertTrue(scale.contains(((note.pitch - tonic) % 12 + 12) % 12), "\(clip.name): \(note.pitch) outside \(clip.key!) \(clip.mode!)")
            }
            let last = clip.midi.notes.max { $0.start < $1.start || ($0.start == $1.start && $0.pitch < $1.pitch) }!
            XCTAssertEqual((last.pitch - tonic) % 12, 0, "\(clip.name) ends on the tonic")
            XCTAssertEqual(clip.tempo, MusicCorpusPlan.tempoBucket(clip.beatsPerMinute!))
            XCTAssertTrue((60...180).contains(clip.beatsPerMinute!))
            XCTAssertEqual(clip.duration, clip.midi.duration + 0.5, accuracy: 1e-9)
        }
        // Every family, key, mode and tempo bucket occurs; the splits are 80 / 10 / 10.
        XCTAssertEqual(Set(clips.map(\.family)), Set(InstrumentFamily.allCases))
        XCTAssertTrue(clips.contains { MusicCorpusPlan.pitchCeilings[$0.program] != nil }, "the ceiling programs still play single notes")
        XCTAssertEqual(Set(clips.compactMap(\.key)).count, 12)
        XCTAssertEqual(Set(clips.compactMap(\.mode)), ["major", "minor"])
        XCTAssertEqual(Set(clips.compactMap(\.tempo)), ["slow", "moderate", "fast"])
        XCTAssertEqual(clips.filter { $0.split == "test" }.count, 60)
        XCTAssertEqual(clips.filter { $0.split == "dev" }.count, 60)
    }
}

final class MusicCorpusSynthesizerTests: XCTestCase {
    /// fluidsynth, sox and the soundfont: `make deps` installs them, so their absence fails (with the package to
    /// install), as the speech corpus's tests fail without espeak-ng.
    func tools() throws -> MusicTools { try MusicTools() }

    /// A small corpus: every clip's WAV has its planned length and is not silent, the manifest carries the labels,
    /// a second run renders nothing again, and a run with another seed into the same directory is refused.
    func testRendersACorpusResumesAndRefusesOtherSettings() throws {
        let tools = try tools()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("music-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let summary = try MusicCorpusSynthesizer.synthesize(out: out, notes: 3, phrases: 2, seed: 4, tools: tools)
        XCTAssertEqual(summary.clipsPerSplit["train"], 5)
        let lines = try String(contentsOf: out.appendingPathComponent("manifest.jsonl"), encoding: .utf8).split(separator: "\n")
        let entries = try lines.map { try JSONDecoder().decode(MusicManifestEntry.self, from: Data($0.utf8)) }
        let plan = MusicCorpusPlan.clips(notes: 3, phrases: 2, seed: 4)
        XCTAssertEqual(entries.map(\.pitch), plan.map(\.pitch))
        XCTAssertEqual(entries.map(\.key), plan.map(\.key))
        var modified: [Date] = []
        for entry in entries {
            let url = out.appendingPathComponent(entry.path)
            let (samples, rate) = try WAVFile.read(url)
            XCTAssertEqual(rate, 16_000)
            XCTAssertEqual(Double(samples.count) / 16_000, entry.duration, accuracy: 1e-9)
            XCTAssertGreaterThan(samples.map { abs(Int($0)) }.max()!, 1000, "\(entry.path) is audible")
            modified.append(try url.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate!)
        }
        try MusicCorpusSynthesizer.synthesize(out: out, notes: 3, phrases: 2, seed: 4, tools: tools, jobs: 2)
        let again = try entries.map { try out.appendingPathComponent($0.path).resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate! }
        XCTAssertEqual(again, modified, "a second run keeps the rendered clips")
        XCTAssertThrowsError(try MusicCorpusSynthesizer.synthesize(out: out, notes: 3, phrases: 2, seed: 5, tools: tools)) { error in
            XCTAssertTrue("\(error)".contains("was made with other settings (seed 4 → 5)"), "\(error)")
        }
    }

    /// Two jobs write the same files as one.
    func testTheFilesDoNotDependOnJobs() throws {
        let tools = try tools()
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("music-jobs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        for jobs in [1, 2] {
            try MusicCorpusSynthesizer.synthesize(out: base.appendingPathComponent("\(jobs)"), notes: 3, phrases: 2, seed: 9,
                                                  tools: tools, jobs: jobs)
        }
        for name in ["manifest.jsonl", "audio/note/train-00002.wav", "audio/phrase/train-00001.wav"] {
            XCTAssertEqual(try Data(contentsOf: base.appendingPathComponent("1/\(name)")),
                           try Data(contentsOf: base.appendingPathComponent("2/\(name)")), name)
        }
    }

    /// The audio has the pitch the label says: an organ's A4 (MIDI 69) rendered by fluidsynth repeats every
    /// 16000 / 440 ≈ 36.4 samples, its A3 every 72.7 (the autocorrelation's first strong peak).
    func testARenderedNoteHasItsLabelledPitch() throws {
        let tools = try tools()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("music-pitch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        for (pitch, frequency) in [(69, 440.0), (57, 220.0)] {
            let clip = MusicClip(subset: "note", index: pitch, split: "test", family: .organ, program: 19, pitch: pitch,
                                 key: nil, mode: nil, beatsPerMinute: nil, tempo: nil,
                                 midi: MIDIFile(beatsPerMinute: 120, program: 19,
                                                notes: [.init(pitch: pitch, velocity: 100, start: 0, length: 960)]),
                                 duration: 1)
            let wav = out.appendingPathComponent("a\(pitch).wav")
            try MusicCorpusSynthesizer.render(clip, to: wav, samples: 16_000, tools: tools)
            let samples = try WAVFile.read(wav).samples.map(Double.init)
            let window = Array(samples[4000..<12000])
            let correlation = (0...160).map { lag in zip(window, window.dropFirst(lag)).reduce(0) { $0 + $1.0 * $1.1 } }
            // The period: the first local maximum past lag 20 within 15 % of the largest (later multiples of the
            // period correlate almost as well).
            let best = correlation[20...].max()!
            let lag = (21..<160).first { correlation[$0] >= 0.85 * best && correlation[$0] >= correlation[$0 - 1]
                                         && correlation[$0] >= correlation[$0 + 1] }!
            XCTAssertEqual(16_000 / Double(lag), frequency, accuracy: frequency * 0.03, "MIDI \(pitch)")
        }
    }
}
