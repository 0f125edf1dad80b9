import Foundation

/// Additive noise, mixed in Swift on the samples so the result is bit-exact for a seed (sox's noise generators
/// draw from their own generator).
public enum NoiseMixing {
    /// Unit-RMS noise of `colour`, `count` samples. Pink: Paul Kellet's economy three-pole filter on white noise
    /// (±0.5 dB of 1/f above 40 Hz at 16 kHz); brown: leaky integration of white noise.
    public static func noise(_ colour: Augmentation.NoiseColour, count: Int, random: inout SeededRandom) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        var b0 = 0.0, b1 = 0.0, b2 = 0.0
        for i in 0..<count {
            let white = random.gaussian()
            switch colour {
            case .white:
                out[i] = Float(white)
            case .pink:
                b0 = 0.99765 * b0 + white * 0.0990460
                b1 = 0.96300 * b1 + white * 0.2965164
                b2 = 0.57000 * b2 + white * 1.0526913
                out[i] = Float(b0 + b1 + b2 + white * 0.1848)
            case .brown:
                b0 = 0.995 * b0 + white * 0.1
                out[i] = Float(b0)
            }
        }
        let rms = rootMeanSquare(out)
        return rms > 0 ? out.map { $0 / rms } : out
    }

    public static func rootMeanSquare(_ x: [Float]) -> Float {
        guard !x.isEmpty else { return 0 }
        var sum = 0.0
        for v in x { sum += Double(v) * Double(v) }
        return Float((sum / Double(x.count)).squareRoot())
    }

    /// speech + noise with RMS(speech) / RMS(noise) = 10^(snr/20) over the whole clip, then the gain; scaled
    /// down if it would clip. A silent `speech` (a silence clip) gets the noise at `gainDB` below a −20 dBFS RMS.
    public static func mix(speech: [Float], augmentation: Augmentation, random: inout SeededRandom) -> [Int16] {
        let noise = self.noise(augmentation.noise, count: speech.count, random: &random)
        let speechRMS = rootMeanSquare(speech)
        let noiseRMS = speechRMS > 0 ? speechRMS / Float(pow(10, augmentation.snrDB / 20)) : 32768 * 0.1
        let gain = Float(pow(10, augmentation.gainDB / 20))
        var mixed = zip(speech, noise).map { (s, n) in (s + noiseRMS * n) * gain }
        let peak = mixed.reduce(0) { max($0, abs($1)) }
        if peak > 32_000 { mixed = mixed.map { $0 * (32_000 / peak) } }
        return mixed.map { Int16($0.rounded()) }
    }

    /// `samples` padded with zeros to `minimumCount`, the original sitting at `placement` (0…1) of the slack.
    public static func pad(_ samples: [Float], minimumCount: Int, placement: Double) -> [Float] {
        guard samples.count < minimumCount else { return samples }
        let slack = minimumCount - samples.count
        let before = min(slack, Int((Double(slack) * placement).rounded(.down)))
        return [Float](repeating: 0, count: before) + samples + [Float](repeating: 0, count: slack - before)
    }
}
