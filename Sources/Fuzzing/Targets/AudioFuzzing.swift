import AudioData
import Foundation
import SpeechSynthesis

/// WAV and FLAC files through libsndfile (`Waveform(contentsOf:)`: decoding, mono mix-down, resampling to
/// 16 kHz) and Kaldi fbank, as `pretrain features` reads them; WAV files also through the synthesiser's own
/// 16-bit reader (`WAVFile.read`).
enum AudioFuzzing {
    static func family(_ name: String, file: String, seeds: [[UInt8]], knownIssue: String? = nil,
                       _ mutate: @escaping (inout [UInt8], inout FuzzRandom) -> Void) -> MutationFamily {
        MutationFamily(name, knownIssue: knownIssue) { random in
            var bytes = random.pick(seeds)
            for _ in 0..<random.geometricCount(max: 3) { mutate(&bytes, &random) }
            return FuzzInput(file, bytes)
        }
    }

    /// Flips, sets, cuts and appends bytes, then puts `fields` (offset, length) back as the seed had them:
    /// mutations that cannot reach the sample rate (or the sample format) while issue 18's fixes for those are open.
    static func inPlace(_ name: String, file: String, seeds: [[UInt8]], keeping fields: [(Int, Int)]) -> MutationFamily {
        MutationFamily(name) { random in
            let seed = random.pick(seeds)
            var bytes = seed
            for _ in 0..<random.geometricCount(max: 3) {
                random.pick([ByteMutations.flipBits, ByteMutations.setBytes, ByteMutations.truncate,
                             ByteMutations.appendGarbage])(&bytes, &random)
            }
            for (offset, length) in fields where offset + length <= bytes.count {
                bytes.replaceSubrange(offset..<offset + length, with: seed[offset..<offset + length])
            }
            return FuzzInput(file, bytes)
        }
    }

    /// Sets float samples of the float seed to NaN or ±infinity.
    static func nonFiniteSamples(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        let dataStart = 44, patterns: [UInt32] = [0x7FC0_0000, 0x7F80_0000, 0xFF80_0000, 0x7F7F_FFFF]
        guard bytes.count > dataStart + 4 else { return }
        for _ in 0..<random.int(1...8) {
            let sample = dataStart + 4 * random.int(0..<(bytes.count - dataStart) / 4)
            FieldMutations.set32(&bytes, at: sample, random.pick(patterns))
        }
    }

    static let integerWAVs = Array(AudioSeeds.wavSeeds.prefix(4))
    /// Offsets of the WAV seeds' header fields other than the sample rate and the format tag (RIFF size, fmt size,
    /// channels, byte rate, block align, bits per sample, data size of the seeds without a LIST chunk).
    static let wavFields = [4, 16, 22, 28, 32, 34, 40]

    static let wav = FuzzTarget(
        name: "wav", parses: "WAV through libsndfile, resampling and fbank; WAVFile.read",
        seeds: AudioSeeds.wavSeeds.map { FuzzInput("audio.wav", $0) },
        families: [
            family("header-fields", file: "audio.wav", seeds: integerWAVs) { bytes, random in
                let offset = random.pick(wavFields)
                if [22, 32, 34].contains(offset) {
                    FieldMutations.set16(&bytes, at: offset, UInt16(truncatingIfNeeded: random.pick(FieldMutations.interesting32)))
                } else {
                    FieldMutations.perturb32(&bytes, at: offset, &random)
                }
            },
            inPlace("bytes-in-place", file: "audio.wav", seeds: integerWAVs, keeping: [(20, 8)]),
            // Issue 18 (audio decoding, another branch): absurd WAV sample rates.
            family("sample-rate", file: "audio.wav", seeds: AudioSeeds.wavSeeds) {
                bytes, random in FieldMutations.perturb32(&bytes, at: AudioSeeds.wavSampleRateOffset, &random)
            },
            // Issue 18 (audio decoding): non-finite audio.
            family("non-finite", file: "audio.wav", seeds: [AudioSeeds.wavSeeds[4]],
                   nonFiniteSamples),
            // Havoc can reach the sample rate and turn integer samples into float ones: both open items above.
            family("bytes", file: "audio.wav", seeds: AudioSeeds.wavSeeds) { ByteMutations.havoc(&$0, &$1) },
        ],
        parse: { _, directory in
            let url = directory.appendingPathComponent("audio.wav")
            _ = try? WAVFile.read(url)
            try decode(url)
        })

    static let flac = FuzzTarget(
        name: "flac", parses: "FLAC through libsndfile, resampling and fbank",
        seeds: AudioSeeds.flacSeeds.map { FuzzInput("audio.flac", $0) },
        families: [
            inPlace("bytes-in-place", file: "audio.flac", seeds: AudioSeeds.flacSeeds,
                    keeping: [(AudioSeeds.flacSampleRateOffset, 3)]),
            family("streaminfo", file: "audio.flac", seeds: AudioSeeds.flacSeeds) { bytes, random in
                // Block and frame sizes, channels, bits per sample, total samples: not the sample rate.
                let offset = random.pick([8, 10, 12, 15, 20, 21, 22, 23, 24, 25]), old = bytes[offset]
                bytes[offset] = random.pick([0, 0xFF, 0x80, 0x01, old ^ UInt8(1 << random.int(0..<8))])
                if offset == 20 { bytes[20] = old & 0xF0 | bytes[20] & 0x0F }   // the high nibble ends the rate
            },
            // Issue 18 (audio decoding): absurd sample rates (STREAMINFO's 20-bit rate).
            family("sample-rate", file: "audio.flac", seeds: AudioSeeds.flacSeeds) {
                bytes, random in
                let rate = random.pick([0, 1, 2, 7, 100, 655_350, 1_048_575])
                bytes[18] = UInt8(rate >> 12); bytes[19] = UInt8(truncatingIfNeeded: rate >> 4)
                bytes[20] = bytes[20] & 0x0F | UInt8(truncatingIfNeeded: rate << 4)
            },
            family("bytes", file: "audio.flac", seeds: AudioSeeds.flacSeeds) {
                ByteMutations.havoc(&$0, &$1)
            },
        ],
        parse: { _, directory in try decode(directory.appendingPathComponent("audio.flac")) })

    static func decode(_ url: URL) throws {
        let waveform = try Waveform(contentsOf: url, sampleRate: 16_000)
        guard waveform.samples.allSatisfy(\.isFinite) else {
            throw FuzzFinding("audio with samples that are not finite was accepted (issue 18 item: non-finite audio)")
        }
        let features = try FbankComputer().compute(waveform)
        guard features.values.allSatisfy(\.isFinite) else { throw FuzzFinding("fbank features hold NaN or infinity") }
    }
}
