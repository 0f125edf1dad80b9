import Foundation

/// The settings of a text-to-speech mel spectrogram (HiFi-GAN's and FastSpeech 2's convention at 16 kHz): the
/// magnitude (not power) STFT of 1024-point frames every 256 samples, 80 Slaney mel filters from 0 to 8 kHz,
/// log(max(mel, 1e-5)). JSON keys are torchaudio's keyword names; reading requires every key.
public struct TTSMelOptions: Codable, Equatable, Sendable {
    public var sampleRate: Int
    public var fftSize: Int
    public var hopLength: Int
    public var windowLength: Int
    public var melCount: Int
    public var lowFrequency: Double
    public var highFrequency: Double
    /// The smallest mel magnitude the log sees (its log, ln 1e-5 ≈ −11.51, is the value of silence).
    public var logFloor: Double

    public init(sampleRate: Int = 16_000, fftSize: Int = 1024, hopLength: Int = 256, windowLength: Int = 1024,
                melCount: Int = 80, lowFrequency: Double = 0, highFrequency: Double = 8000, logFloor: Double = 1e-5) {
        (self.sampleRate, self.fftSize, self.hopLength, self.windowLength) = (sampleRate, fftSize, hopLength, windowLength)
        (self.melCount, self.lowFrequency, self.highFrequency, self.logFloor) = (melCount, lowFrequency, highFrequency, logFloor)
    }

    enum CodingKeys: String, CodingKey {
        case sampleRate = "sample_rate", fftSize = "n_fft", hopLength = "hop_length", windowLength = "win_length"
        case melCount = "n_mels", lowFrequency = "f_min", highFrequency = "f_max", logFloor = "log_floor"
    }

    /// Throws an `AudioError` naming the first option out of range.
    public func validate() throws {
        guard sampleRate > 0 else { throw AudioError("sample_rate must be positive, got \(sampleRate)") }
        try ShortTimeFourierTransform.validate(fftSize: fftSize, hopLength: hopLength, windowLength: windowLength)
        try SlaneyMelFilters.validate(melCount: melCount, sampleRate: sampleRate, lowFrequency: lowFrequency,
                                      highFrequency: highFrequency)
        guard logFloor > 0, logFloor.isFinite else { throw AudioError("log_floor must be positive, got \(logFloor)") }
    }
}

/// The log-mel spectrogram of text-to-speech models, and its inversion to a linear magnitude spectrogram:
/// torchaudio.transforms.MelSpectrogram(power=1, norm="slaney", mel_scale="slaney", center=True, pad_mode="reflect")
/// followed by log(clamp(min=logFloor)); InverseMelScale for the way back. Build once per option set and reuse.
public struct TTSMelSpectrogram {
    public let options: TTSMelOptions
    public let stft: ShortTimeFourierTransform
    public let filters: SlaneyMelFilters

    public init(options: TTSMelOptions = TTSMelOptions()) throws {
        try options.validate()
        self.options = options
        stft = try ShortTimeFourierTransform(fftSize: options.fftSize, hopLength: options.hopLength,
                                             windowLength: options.windowLength)
        filters = try SlaneyMelFilters(melCount: options.melCount, fftSize: options.fftSize, sampleRate: options.sampleRate,
                                       lowFrequency: options.lowFrequency, highFrequency: options.highFrequency)
    }

    /// samples: (n) at options.sampleRate → (1 + n / hop, melCount) log-mel. Throws for n ≤ fftSize/2 (see
    /// ShortTimeFourierTransform.forward).
    public func logMel(_ samples: [Float]) throws -> FeatureMatrix {
        let spectrum = try stft.forward(samples)
        let (frames, bins, mels) = (spectrum.frameCount, stft.binCount, options.melCount)
        var values = [Float](repeating: 0, count: frames * mels)
        let magnitude = UnsafeMutablePointer<Double>.allocate(capacity: bins)
        let mel = UnsafeMutablePointer<Double>.allocate(capacity: mels)
        defer { magnitude.deallocate(); mel.deallocate() }
        spectrum.values.withUnsafeBufferPointer { x in
            values.withUnsafeMutableBufferPointer { out in
                for t in 0..<frames {
                    let row = x.baseAddress! + 2 * bins * t
                    for k in 0..<bins { magnitude[k] = (row[2 * k] * row[2 * k] + row[2 * k + 1] * row[2 * k + 1]).squareRoot() }
                    filters.apply(magnitude: magnitude, mel: mel)
                    for m in 0..<mels { out[t * mels + m] = Float(log(max(mel[m], options.logFloor))) }
                }
            }
        }
        return FeatureMatrix(frameCount: frames, dimension: mels, values: values)
    }

    /// (frames, melCount) log-mel → (frames, fftSize/2 + 1) linear magnitudes: exp, then the minimum-norm
    /// least-squares inverse of the filters clamped at 0 (torchaudio.transforms.InverseMelScale). A mel value at the
    /// log floor comes back as the floor, not as silence.
    public func linearMagnitude(logMel: FeatureMatrix) throws -> FeatureMatrix {
        guard logMel.dimension == options.melCount else {
            throw AudioError("the log-mel spectrogram has \(logMel.dimension) mel bins; n_mels is \(options.melCount)")
        }
        let (frames, bins, mels) = (logMel.frameCount, stft.binCount, options.melCount)
        var values = [Float](repeating: 0, count: frames * bins)
        let magnitude = UnsafeMutablePointer<Double>.allocate(capacity: bins)
        let mel = UnsafeMutablePointer<Double>.allocate(capacity: mels)
        defer { magnitude.deallocate(); mel.deallocate() }
        logMel.values.withUnsafeBufferPointer { x in
            values.withUnsafeMutableBufferPointer { out in
                for t in 0..<frames {
                    for m in 0..<mels { mel[m] = exp(Double(x[t * mels + m])) }
                    filters.leastSquaresInverse(mel: mel, magnitude: magnitude)
                    for k in 0..<bins { out[t * bins + k] = Float(magnitude[k]) }
                }
            }
        }
        return FeatureMatrix(frameCount: frames, dimension: bins, values: values)
    }
}

/// samples → (1 + n / hop, melCount) log-mel with `options` (see TTSMelSpectrogram; build one to reuse).
public func ttsLogMel(_ samples: [Float], options: TTSMelOptions = TTSMelOptions()) throws -> FeatureMatrix {
    try TTSMelSpectrogram(options: options).logMel(samples)
}
