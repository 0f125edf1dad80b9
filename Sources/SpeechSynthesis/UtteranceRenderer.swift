import Foundation

/// Renders an utterance: espeak-ng speaks the text into a 22.05 kHz WAV and prints its phonemes, sox resamples
/// the audio to 16 kHz mono (and reverberates it), Swift adds the noise and the gain and writes the 16-bit WAV.
/// An utterance whose WAV is already complete is not rendered again; espeak-ng gives its phonemes without
/// speaking (`-q`), the same as it prints while speaking (the resume test compares the manifests).
public struct UtteranceRenderer {
    public let tools: ExternalTools
    public let directory: URL
    public let scratch: URL

    public init(tools: ExternalTools, directory: URL) {
        self.tools = tools
        self.directory = directory
        scratch = directory.appendingPathComponent(".scratch")
    }

    public func render(_ spec: UtteranceSpec, seed: UInt64) throws -> ManifestEntry {
        let url = directory.appendingPathComponent(spec.path)
        var ipa = ""
        let sampleCount: Int
        if let existing = WAVFile.sampleCount(url) {
            sampleCount = existing
            if let voice = spec.voice {
                ipa = try ExternalTools.run(tools.espeak, ["-q", "--ipa", "--sep=_", "-v", voice], input: spec.text).stdout
            }
        } else {
            var speech: [Float] = []
            if let speaker = spec.speaker, let voice = spec.voice {
                (speech, ipa) = try speak(spec.text, speaker: speaker, voice: voice, spec: spec)
            }
            speech = NoiseMixing.pad(speech, minimumCount: Int(spec.minimumSeconds * Double(WAVFile.sampleRate)),
                                     placement: spec.placement)
            var random = SeededRandom(seed: seed, name: "noise:" + spec.path)
            let samples = NoiseMixing.mix(speech: speech, augmentation: spec.augmentation, random: &random)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try WAVFile.write(samples, to: url)
            sampleCount = samples.count
        }
        let phonemes = PhonemeTokens.tokens(espeakIPA: ipa).joined(separator: " ")
        var entry = ManifestEntry(path: spec.path, subset: spec.subset, split: spec.split,
                                 duration: Double(sampleCount) / Double(WAVFile.sampleRate), text: spec.text,
                                 phonemes: phonemes, speaker: spec.speaker?.id, voice: spec.voice,
                                 accent: spec.voice.map { String($0.prefix { $0 != "+" }) },
                                 gender: spec.speaker.map { SpeakerProfiles.gender(variant: $0.variant) }, language: spec.language,
                                 label: spec.label,
                                 noise: spec.augmentation.noise.rawValue,
                                 snrDB: spec.voice == nil ? nil : spec.augmentation.snrDB,
                                 gainDB: spec.augmentation.gainDB, reverb: spec.augmentation.reverb)
        if spec.subset == "tts" {
            entry.wordPhonemes = PhonemeTokens.wordLengths(espeakIPA: ipa).map(String.init).joined(separator: " ")
        }
        return entry
    }

    /// espeak-ng → sox → float samples at 16 kHz, and espeak-ng's IPA. The text goes in on stdin, so a line that
    /// starts with "-" is not taken for an option. -z drops the final sentence pause; -D keeps sox from dithering
    /// (its dither is random).
    func speak(_ text: String, speaker: SpeakerProfile, voice: String, spec: UtteranceSpec) throws -> ([Float], String) {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let stem = spec.path.replacingOccurrences(of: "/", with: "_")
        let spoken = scratch.appendingPathComponent(stem + ".espeak.wav")
        let resampled = scratch.appendingPathComponent(stem + ".raw")
        defer {
            try? FileManager.default.removeItem(at: spoken)
            try? FileManager.default.removeItem(at: resampled)
        }
        let ipa = try ExternalTools.run(tools.espeak, ["-z", "-v", voice, "-s", String(speaker.rate), "-p",
                                                       String(speaker.pitch), "--ipa", "--sep=_", "-w", spoken.path],
                                        input: text).stdout
        var soxArguments = ["-D", "-G", spoken.path, "-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1",
                            "-r", String(WAVFile.sampleRate), resampled.path]
        if let reverb = spec.augmentation.reverb { soxArguments += ["reverb"] + reverb.map(String.init) }
        try ExternalTools.run(tools.sox, soxArguments)
        guard let raw = try? Data(contentsOf: resampled), !raw.isEmpty else {
            throw SynthesisError.toolFailed("espeak-ng produced no audio for \(spec.path) (voice \(voice), text '\(text)')")
        }
        let samples = raw.withUnsafeBytes { bytes in
            (0..<(raw.count / 2)).map { Float(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self))) }
        }
        return (samples, ipa)
    }
}
