import ArgumentParser
import Foundation
import MusicSynthesis

/// `pretrain data synth-music --out DIR`: instrument audio rendered from generated MIDI, with exact labels.
struct SynthMusic: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth-music",
        abstract: "Render a labelled music corpus from generated MIDI with fluidsynth and a General MIDI soundfont.",
        discussion: """
            Writes 16 kHz mono 16-bit WAV files under DIR/audio/<subset>/, manifest.jsonl (one clip a line: path, \
            subset, split, duration, family, program, and pitch for notes or key, mode, bpm and tempo for phrases) and \
            corpus.json. Subsets: note (one note of a random General MIDI program of 13 pitched families, held 1.5 s: \
            instrument family and pitch labels) and phrase (two bars of chords and melody in a random key, mode and \
            tempo, 60-180 BPM: family, key, mode and tempo bucket labels). Every tenth clip from the ninth is dev, from \
            the tenth test. The same seed gives the same clips; run again into the same DIR to resume. Needs \
            fluidsynth, fluid-soundfont-gm and sox (make deps).
            Example: pretrain data synth-music --out data/music --notes 1000 --phrases 500 --seed 0
            """)

    @Option(help: "Output directory.") var out: String
    @Option(help: "Single-note clips.") var notes = 1000
    @Option(help: "Phrase clips.") var phrases = 500
    @Option(help: "Seed: every program, pitch, key, tempo and melody follows from it.") var seed: UInt64 = 0
    @Option(help: "A General MIDI soundfont (.sf2); default \(MusicTools.defaultSoundfont).") var soundfont: String?
    @Option(help: "Clips rendered at once (fluidsynth and sox processes); the output does not depend on it.") var jobs = 2

    func run() throws {
        let tools = try MusicTools(soundfont: soundfont)
        let start = Date()
        let summary = try MusicCorpusSynthesizer.synthesize(
            out: URL(fileURLWithPath: out), notes: notes, phrases: phrases, seed: seed, tools: tools, jobs: jobs) { done, total in
            if done % 100 == 0 || done == total { FileHandle.standardError.write(Data("rendered \(done)/\(total)\n".utf8)) }
        }
        let splits = summary.clipsPerSplit.sorted { $0.key > $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("wrote \(out): \(notes) notes, \(phrases) phrases (\(splits)), \(String(format: "%.2f", summary.seconds / 3600)) hours, "
              + "fluidsynth \(summary.fluidsynth), in \(Int(Date().timeIntervalSince(start))) s")
    }
}
