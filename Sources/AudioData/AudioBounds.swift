import Foundation

/// What a decoded file must satisfy to be speech rather than a corrupt header or broken samples, checked before
/// anything is allocated for it: a header claiming 1 Hz would resample each stored sample into 16,000, and NaN
/// samples would make every feature and the corpus statistics NaN without an error.
public enum AudioBounds {
    /// Sample rates of real recordings, with a margin: from 1 kHz (below telephony's 8 kHz) to studio 384 kHz.
    public static let sampleRates = 1_000...384_000
    /// The longest file taken as one utterance (a whole day of audio is a header error or not an utterance).
    public static let maxDuration: Double = 4 * 3600
    /// The most channels taken as a recording (each decoded block holds 65,536 frames of every channel).
    public static let maxChannels = 64

    /// Throws naming the file when its sample rate is outside `sampleRates` or `frames` at that rate last longer
    /// than `maxDuration`.
    static func check(sampleRate: Int, frames: Int, path: String) throws {
        guard sampleRates.contains(sampleRate) else {
            throw AudioError(badAudio: "\(path): a sample rate of \(sampleRate) Hz is outside \(sampleRates.lowerBound)…"
                + "\(sampleRates.upperBound) Hz (a corrupt header?)")
        }
        let seconds = Double(frames) / Double(sampleRate)
        guard seconds <= maxDuration else {
            throw AudioError(badAudio: String(format: "%@: %.1f hours of audio (%d frames at %d Hz) is longer than the "
                + "%.0f hours one utterance may last", path, seconds / 3600, frames, sampleRate, maxDuration / 3600))
        }
    }

    /// The largest sample magnitude taken as audio. Decoded samples are in [-1, 1] at full scale; a float file may
    /// exceed it where it clipped, but 10⁴ times full scale is broken data, and values near Float's limit overflow
    /// the spectrum (its squares) into infinity and NaN.
    public static let maxMagnitude: Float = 10_000

    /// Throws naming the file when a sample is NaN, infinite or beyond `maxMagnitude`.
    static func checkFinite(_ samples: [Float], path: String) throws {
        let bad = samples.reduce(0) { $1.isFinite ? $0 : $0 + 1 }
        guard bad == 0 else {
            throw AudioError(badAudio: "\(path): \(bad) of \(samples.count) samples are not finite (NaN or infinity)")
        }
        let huge = samples.reduce(0) { abs($1) > maxMagnitude ? $0 + 1 : $0 }
        guard huge == 0 else {
            throw AudioError(badAudio: "\(path): \(huge) of \(samples.count) samples exceed \(Int(maxMagnitude)) times full scale "
                + "(broken float data?)")
        }
    }
}
