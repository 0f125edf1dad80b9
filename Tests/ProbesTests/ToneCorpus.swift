import Foundation

/// A synthetic probe corpus in a temporary directory: 16-bit 16 kHz WAVs and a manifest.jsonl in the format of
/// `pretrain data synth-speech`. Classes are tones, "phonemes" are tone segments, so fbank features separate them.
enum ToneCorpus {
    static let frequencies: [String: Double] = ["a": 300, "b": 700, "c": 1500, "d": 3000]

    static func writeWAV(_ samples: [Float], to url: URL) throws {
        var data = Data()
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        data.append(contentsOf: Array("RIFF".utf8)); append(UInt32(36 + samples.count * 2))
        data.append(contentsOf: Array("WAVEfmt ".utf8)); append(UInt32(16)); append(UInt16(1)); append(UInt16(1))
        append(UInt32(16_000)); append(UInt32(32_000)); append(UInt16(2)); append(UInt16(16))
        data.append(contentsOf: Array("data".utf8)); append(UInt32(samples.count * 2))
        for sample in samples { append(Int16(max(-1, min(1, sample)) * 32_000)) }
        try data.write(to: url)
    }

    /// Tone segments of 0.15 s each, in order, with a little seeded noise.
    static func tones(_ symbols: [String], seed: Int) -> [Float] {
        var state = UInt64(seed + 1) &* 0x9E37_79B9_7F4A_7C15
        var samples: [Float] = []
        for symbol in symbols {
            let frequency = frequencies[symbol]!
            for n in 0..<2400 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let noise = Float(Double(state >> 40) / Double(1 << 24) - 0.5) * 0.05
                samples.append(Float(0.4 * sin(2 * Double.pi * frequency * Double(n) / 16_000)) + noise)
            }
        }
        return samples
    }

    /// `ks`: classes a, b, c (one tone each); `pr`: random sequences of 3–5 tones. `perClass` train utterances
    /// per class, 6 test and 6 dev utterances per class (dev made last, so train and test are as before it).
    static func make(in directory: URL, perClass: Int = 8) throws {
        var lines: [String] = []
        var counter = 0
        for split in ["train", "test", "dev"] {
            for label in ["a", "b", "c"] {
                for _ in 0..<(split == "train" ? perClass : 6) {
                    counter += 1
                    let path = "ks/\(split)/\(label)_\(counter).wav"
                    try write(tones([label, label], seed: counter), path: path, in: directory)
                    lines.append(#"{"path": "\#(path)", "subset": "ks", "split": "\#(split)", "label": "\#(label)", "phonemes": ""}"#)
                }
            }
            for _ in 0..<(split == "train" ? 40 : 10) {
                counter += 1
                let symbols = (0..<(3 + counter % 3)).map { ["a", "b", "c", "d"][($0 * 7 + counter * 3) % 4] }
                let path = "pr/\(split)/u\(counter).wav"
                try write(tones(symbols, seed: counter), path: path, in: directory)
                lines.append(#"{"path": "\#(path)", "subset": "pr", "split": "\#(split)", "phonemes": "\#(symbols.joined(separator: " "))"}"#)
            }
        }
        try lines.joined(separator: "\n").write(to: directory.appendingPathComponent("manifest.jsonl"), atomically: true, encoding: .utf8)
    }

    private static func write(_ samples: [Float], path: String, in directory: URL) throws {
        let url = directory.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try writeWAV(samples, to: url)
    }
}
