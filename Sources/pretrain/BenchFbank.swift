import AudioData
import ArgumentParser
import Foundation
import Tensors

/// `pretrain bench fbank`: Kaldi log-mel filterbank throughput (80 bins, 25/10 ms, povey, 16 kHz) over synthetic
/// clips, in seconds of audio per second. bench/fbank_reference.py times torchaudio.compliance.kaldi.fbank on clips
/// of the same count and length.
struct BenchFbank: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fbank", abstract: "Time Kaldi fbank extraction; prints one JSON line.")

    @Option(help: "Clips.") var clips = 200
    @Option(help: "Seconds per clip.") var seconds = 5.0
    @Option(help: "Threads (1: one clip at a time on one core; default: all cores, clips in parallel).") var threads: Int?
    @Option(help: "Passes (the median is reported).") var repeats = 3

    func run() throws {
        guard clips >= 1, seconds > 0, repeats >= 1 else { throw ValidationError("--clips, --seconds and --repeats must be positive") }
        Runtime.configure(threads: threads)
        var generator = RandomGenerator(seed: 0)
        let length = Int(seconds * 16_000)
        // A chirp under noise, in [-1, 1] (fbank scales to 16-bit integers by default, as Kaldi).
        let waveforms: [[Float]] = (0..<clips).map { clip in
            (0..<length).map { n in
                let t = Double(n) / 16_000
                return Float(0.3 * sin(2 * Double.pi * (200 + 50 * Double(clip % 7)) * t * (1 + t))) + 0.05 * generator.nextNormal()
            }
        }
        var options = FbankOptions()
        options.numMelBins = 80
        let computer = try FbankComputer(options: options)
        var times: [Double] = [], frames = 0
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            frames = computer.compute(batch: waveforms).reduce(0) { $0 + $1.frameCount }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let median = times.sorted()[times.count / 2]
        let audioSeconds = Double(clips) * seconds
        print(String(format: "{\"impl\": \"swift-pretrain\", \"clips\": %d, \"audio_seconds\": %.1f, \"frames\": %d, "
                     + "\"seconds\": %.4f, \"realtime_factor\": %.1f, \"threads\": %d}",
                     clips, audioSeconds, frames, median, audioSeconds / median, Runtime.threads))
    }
}
