import ArgumentParser
import Foundation
import SpeechSynthesis
import Training

/// `pretrain data telephone IN --out DIR`: a corpus through a telephone channel (8 kHz, band-pass, codec), back at
/// 16 kHz, at the same paths with the manifest copied.
struct Telephone: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "telephone", abstract: "Pass a corpus through a telephone channel (8 kHz, 300–3400 Hz, G.711 or GSM codec).",
        discussion: """
            Every WAV under IN is resampled to 8 kHz, band-passed, encoded with the codec and decoded back to 16 kHz \
            16-bit WAV under DIR at the same relative path (sox); IN/manifest.jsonl is copied, so probes, features \
            prepare and --where read DIR as they read IN. Files already in DIR are kept (a run resumes); a DIR made with \
            another channel is refused. Example: pretrain data telephone data/speech --out data/speech-telephone --codec gsm
            """)

    @Argument(help: "A corpus directory (WAV files, optionally manifest.jsonl).") var input: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "none, ulaw, alaw (G.711, 8 bits) or gsm (GSM 06.10).") var codec = "ulaw"
    @Option(help: "The pass band in Hz, LOW-HIGH.") var band = "300-3400"
    @Option(help: "Files converted at once (sox processes).") var jobs = 2

    func run() throws {
        guard let codec = TelephoneChannel.Codec(rawValue: codec) else {
            throw ValidationError("--codec must be one of \(TelephoneChannel.Codec.allCases.map(\.rawValue).joined(separator: ", ")), got '\(self.codec)'")
        }
        let edges = band.split(separator: "-").compactMap { Int($0) }
        guard edges.count == 2 else { throw ValidationError("--band must be LOW-HIGH in Hz, got '\(band)'") }
        let channel = TelephoneChannel(codec: codec, lowHz: edges[0], highHz: edges[1])
        let progress = TaskProgress("telephone", unit: "files")
        let count = try TelephoneCorpus.convert(input: URL(fileURLWithPath: input), output: URL(fileURLWithPath: out),
                                                channel: channel, jobs: jobs) { progress.update(Double($0), of: Double($1)) }
        progress.finish()
        print("wrote \(count) files through the \(codec.rawValue) channel (\(channel.lowHz)–\(channel.highHz) Hz) to \(out)")
    }
}
