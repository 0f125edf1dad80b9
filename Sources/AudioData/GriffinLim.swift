import Foundation

/// The vocoder that needs no training: a waveform from a magnitude spectrogram by fast Griffin-Lim (Perraudin,
/// Balazs & Søndergaard 2013, "A fast Griffin-Lim algorithm"), exactly as torchaudio.functional.griffinlim computes
/// it with rand_init=False. With S the target magnitudes, phases c₀ = 1 and t₋₁ = 0:
///
///     t_n = STFT(ISTFT(S · c_n)),   c_{n+1} = u / (|u| + 1e-16),   u = t_n − α · t_{n−1},   α = momentum / (1 + momentum)
///
/// and the waveform is ISTFT(S · c_N). The paper's step t_n + momentum · (t_n − t_{n−1}) is u times 1 + momentum,
/// a factor the phase normalisation drops, so `momentum` is the paper's α (0.99 there too). The STFT is the mel
/// spectrogram's (ShortTimeFourierTransform): the same window, hop and length.
public struct GriffinLimVocoder {
    public let spectrogram: TTSMelSpectrogram
    public let iterations: Int
    public let momentum: Double

    /// Throws an `AudioError` naming the bad option: the spectrogram's, iterations < 0, momentum outside [0, 1).
    public init(options: TTSMelOptions = TTSMelOptions(), iterations: Int = 32, momentum: Double = 0.99) throws {
        guard iterations >= 0 else { throw AudioError("iterations must not be negative, got \(iterations)") }
        guard (0..<1).contains(momentum) else { throw AudioError("momentum must be in [0, 1), got \(momentum)") }
        spectrogram = try TTSMelSpectrogram(options: options)
        (self.iterations, self.momentum) = (iterations, momentum)
    }

    /// (frames, melCount) log-mel → `length` samples (by default (frames − 1)·hop): InverseMelScale, then Griffin-Lim.
    public func waveform(logMel: FeatureMatrix, length: Int? = nil) throws -> [Float] {
        try waveform(magnitude: spectrogram.linearMagnitude(logMel: logMel), length: length)
    }

    /// (frames, fftSize/2 + 1) linear magnitudes → `length` samples (by default (frames − 1)·hop; a length must give
    /// back the frames, and be more than fftSize/2 for the STFT's reflect padding).
    public func waveform(magnitude: FeatureMatrix, length: Int? = nil) throws -> [Float] {
        let stft = spectrogram.stft, bins = stft.binCount, frames = magnitude.frameCount
        guard magnitude.dimension == bins else {
            throw AudioError("the magnitude spectrogram has \(magnitude.dimension) bins per frame; n_fft \(stft.fftSize) "
                + "gives \(bins)")
        }
        let length = length ?? (frames - 1) * stft.hopLength
        try stft.checkLength(length, frameCount: frames)
        try stft.checkAnalysable(length: length)
        let workspace = ShortTimeFourierTransform.Workspace(stft, length: length)
        let count = frames * bins, alpha = momentum / (1 + momentum)
        let target = magnitude.values.map(Double.init)
        // (frames, bins, 2) each: the phases c, the product S·c, the rebuilt t_n and the previous t_{n−1}.
        let angles = UnsafeMutablePointer<Double>.allocate(capacity: 2 * count)
        let product = UnsafeMutablePointer<Double>.allocate(capacity: 2 * count)
        var rebuilt = UnsafeMutablePointer<Double>.allocate(capacity: 2 * count)
        var previous = UnsafeMutablePointer<Double>.allocate(capacity: 2 * count)
        let signal = UnsafeMutablePointer<Double>.allocate(capacity: length)
        defer { [angles, product, rebuilt, previous].forEach { $0.deallocate() }; signal.deallocate() }
        for i in 0..<count { (angles[2 * i], angles[2 * i + 1]) = (1, 0) }
        previous.initialize(repeating: 0, count: 2 * count)
        target.withUnsafeBufferPointer { s in
            func synthesise() {
                for i in 0..<count { (product[2 * i], product[2 * i + 1]) = (s[i] * angles[2 * i], s[i] * angles[2 * i + 1]) }
                stft.synthesise(product, into: signal, workspace: workspace)
            }
            for _ in 0..<iterations {
                synthesise()
                stft.analyse(signal, into: rebuilt, workspace: workspace)
                for i in 0..<count {
                    let re = rebuilt[2 * i] - alpha * previous[2 * i], im = rebuilt[2 * i + 1] - alpha * previous[2 * i + 1]
                    let norm = (re * re + im * im).squareRoot() + 1e-16
                    (angles[2 * i], angles[2 * i + 1]) = (re / norm, im / norm)
                }
                swap(&rebuilt, &previous)
            }
            synthesise()
        }
        return (0..<length).map { Float(signal[$0]) }
    }
}
