import Foundation

/// Mono samples at a known rate, in [-1, 1) for integer sources.
public struct Waveform {
    public var samples: [Float]
    public var sampleRate: Int
    public var duration: Double { Double(samples.count) / Double(sampleRate) }

    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    /// Decodes `url`, mixes its channels down to mono and resamples to `sampleRate` (the model's rate).
    public init(contentsOf url: URL, sampleRate: Int = 16_000) throws {
        let decoded = try AudioDecoder.decode(url)
        guard decoded.frameCount > 0 else { throw AudioError("\(url.path): cannot decode audio: no samples") }
        do {
            samples = try Resampler.resample(decoded.monoMixdown(), from: decoded.sampleRate, to: sampleRate)
        } catch let error as AudioError {
            throw AudioError("\(url.path): \(error.message)")
        }
        self.sampleRate = sampleRate
    }
}
