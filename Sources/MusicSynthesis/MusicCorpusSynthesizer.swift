import FileErrors
import Foundation
import SpeechSynthesis

/// One manifest line of a music corpus: the audio and its exact labels.
public struct MusicManifestEntry: Codable, Equatable {
    public let path: String            // relative to the corpus directory
    public let subset: String          // note | phrase
    public let split: String           // train | dev | test
    public let duration: Double        // seconds
    public let family: String          // InstrumentFamily's raw value
    public let program: Int            // General MIDI program
    public let pitch: Int?             // note clips: MIDI note number
    public let key: String?            // phrases: tonic
    public let mode: String?           // phrases: major | minor
    public let bpm: Double?            // phrases
    public let tempo: String?          // phrases: slow | moderate | fast
}

/// corpus.json of a music corpus: what is in it and how to make it again.
public struct MusicCorpusSummary: Codable, Equatable {
    public var seed: UInt64
    public var notes: Int
    public var phrases: Int
    public var clipsPerSplit: [String: Int]
    public var seconds: Double
    public var soundfont: String
    public var fluidsynth: String
    public var sampleRate: Int
}

/// fluidsynth, sox and a General MIDI soundfont, found or named; a missing one is named with its Debian package.
public struct MusicTools {
    public let fluidsynth: URL
    public let sox: URL
    public let soundfont: URL
    public let fluidsynthVersion: String
    public static let defaultSoundfont = "/usr/share/sounds/sf2/FluidR3_GM.sf2"

    public init(soundfont: String? = nil, searchPath: String? = nil) throws {
        fluidsynth = try ExternalTools.locate("fluidsynth", searchPath: searchPath)
        sox = try ExternalTools.locate("sox", searchPath: searchPath)
        let font = soundfont ?? Self.defaultSoundfont
        guard FileManager.default.isReadableFile(atPath: font) else {
            throw SynthesisError.missingTool(soundfont == nil
                ? "\(font) not found: install the Debian package fluid-soundfont-gm (or make deps), or pass --soundfont"
                : "cannot read the soundfont \(font)")
        }
        self.soundfont = URL(fileURLWithPath: font)
        // "FluidSynth runtime version 2.3.1" on the first line.
        let banner = try ExternalTools.run(fluidsynth, ["--version"]).stdout
        fluidsynthVersion = banner.split(separator: "\n").first?.split(separator: " ").last.map(String.init) ?? banner
    }
}

/// Renders a music corpus: each clip's MIDI file through fluidsynth (General MIDI soundfont, 16 kHz), downmixed to
/// mono and cut to the clip's length by sox, under DIR/audio/<subset>/; then manifest.jsonl and corpus.json.
/// A clip whose audio exists is kept (an interrupted run resumes); a directory made with other settings is refused.
public enum MusicCorpusSynthesizer {
    /// `jobs` clips render at once (fluidsynth and sox processes); the files do not depend on it.
    @discardableResult
    public static func synthesize(out: URL, notes: Int, phrases: Int, seed: UInt64, tools: MusicTools, jobs: Int = 1,
                                  progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) throws -> MusicCorpusSummary {
        guard notes >= 0, phrases >= 0, notes + phrases > 0 else {
            throw SynthesisError.badOption("--notes and --phrases must be ≥ 0 and not both 0 (got \(notes), \(phrases))")
        }
        guard jobs >= 1 else { throw SynthesisError.badOption("--jobs must be ≥ 1 (got \(jobs))") }
        let manager = FileManager.default
        do { try manager.createDirectory(at: out, withIntermediateDirectories: true) } catch {
            throw SynthesisError.unwritableOutput("cannot create \(out.path): \(FileError.reason(error, path: out.path))")
        }
        try checkIdentity(out: out, seed: seed, tools: tools)
        let clips = MusicCorpusPlan.clips(notes: notes, phrases: phrases, seed: seed)
        let paths = clips.map { "audio/\($0.subset)/\($0.split)-\(String(format: "%05d", $0.index)).wav" }
        let lengths = clips.map { Int(($0.duration * Double(WAVFile.sampleRate)).rounded()) }
        let state = ParallelJobState()
        DispatchQueue.concurrentPerform(iterations: jobs) { worker in
            for index in stride(from: worker, to: clips.count, by: jobs) where !state.failed {
                let wav = out.appendingPathComponent(paths[index])
                do {
                    if WAVFile.sampleCount(wav) != lengths[index] { try render(clips[index], to: wav, samples: lengths[index], tools: tools) }
                    progress(state.finishOne(), clips.count)
                } catch { state.fail(error) }
            }
        }
        if let error = state.error { throw error }
        let entries = clips.indices.map { index in
            let clip = clips[index]
            return MusicManifestEntry(path: paths[index], subset: clip.subset, split: clip.split,
                                      duration: Double(lengths[index]) / Double(WAVFile.sampleRate),
                                      family: clip.family.rawValue, program: clip.program, pitch: clip.pitch,
                                      key: clip.key, mode: clip.mode, bpm: clip.beatsPerMinute, tempo: clip.tempo)
        }
        try CorpusFiles.writeManifest(entries, to: out.appendingPathComponent(CorpusFiles.manifest))
        let summary = MusicCorpusSummary(
            seed: seed, notes: notes, phrases: phrases,
            clipsPerSplit: Dictionary(grouping: entries, by: \.split).mapValues(\.count),
            seconds: entries.reduce(0) { $0 + $1.duration }, soundfont: tools.soundfont.path,
            fluidsynth: tools.fluidsynthVersion, sampleRate: WAVFile.sampleRate)
        try CorpusFiles.writeJSON(summary, to: out.appendingPathComponent(CorpusFiles.summary))
        return summary
    }

    /// MIDI → fluidsynth (stereo, 16 kHz) → sox (mono, padded with silence and cut to `samples`) → DIR, through
    /// temporary names, so a clip's WAV exists only whole. Silence is an error (a soundfont without the program).
    public static func render(_ clip: MusicClip, to wav: URL, samples: Int, tools: MusicTools) throws {
        let directory = wav.deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw SynthesisError.unwritableOutput("cannot create \(directory.path): \(FileError.reason(error, path: directory.path))")
        }
        let stem = directory.appendingPathComponent(".\(wav.deletingPathExtension().lastPathComponent)")
        let midi = stem.appendingPathExtension("mid"), stereo = stem.appendingPathExtension("stereo.wav")
        let mono = stem.appendingPathExtension("partial.wav")
        defer { for file in [midi, stereo, mono] { try? FileManager.default.removeItem(at: file) } }
        do { try clip.midi.encoded().write(to: midi) } catch {
            throw SynthesisError.unwritableOutput("cannot write \(midi.path): \(FileError.reason(error, path: midi.path))")
        }
        try ExternalTools.run(tools.fluidsynth, ["-n", "-i", "-q", "-g", "0.8", "-r", "\(WAVFile.sampleRate)",
                                                 "-F", stereo.path, tools.soundfont.path, midi.path])
        // -D: no dither (sox's draws from a time seed), so the same clip gives the same bytes, as in the speech corpus.
        try ExternalTools.run(tools.sox, ["-D", stereo.path, "-r", "\(WAVFile.sampleRate)", "-c", "1", "-b", "16", mono.path,
                                          "pad", "0", "1", "trim", "0", "\(samples)s"])
        let (audio, _) = try WAVFile.read(mono)
        guard audio.count == samples else {
            throw SynthesisError.badAudio("\(clip.name): sox wrote \(audio.count) samples, expected \(samples)")
        }
        guard audio.contains(where: { abs(Int($0)) > 64 }) else {
            throw SynthesisError.badAudio("\(clip.name): fluidsynth rendered silence (program \(clip.program) with \(tools.soundfont.path))")
        }
        do {
            if FileManager.default.fileExists(atPath: wav.path) { try FileManager.default.removeItem(at: wav) }
            try FileManager.default.moveItem(at: mono, to: wav)
        } catch {
            throw SynthesisError.unwritableOutput("cannot write \(wav.path): \(FileError.reason(error, path: wav.path))")
        }
    }

    /// The seed, soundfont and fluidsynth version the directory's audio was made with: written on the first run,
    /// compared on every later one (a clip rendered under other settings would carry wrong labels).
    static func checkIdentity(out: URL, seed: UInt64, tools: MusicTools) throws {
        let identity = ["seed": "\(seed)", "soundfont": tools.soundfont.path, "fluidsynth": tools.fluidsynthVersion]
        let url = out.appendingPathComponent(CorpusFiles.identity)
        if let data = try? Data(contentsOf: url) {
            guard let saved = try? JSONDecoder().decode([String: String].self, from: data) else {
                throw SynthesisError.badOption("\(url.path) is not a synthesis identity: delete it or use a new --out")
            }
            if saved != identity {
                let differences = identity.keys.sorted().filter { saved[$0] != identity[$0] }
                    .map { "\($0) \(saved[$0] ?? "none") → \(identity[$0]!)" }
                throw SynthesisError.badOption("\(out.path) was made with other settings (\(differences.joined(separator: ", "))): use a new --out")
            }
            return
        }
        try CorpusFiles.writeJSON(identity, to: url)
    }
}
