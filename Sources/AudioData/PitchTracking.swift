import CFFTW3
import Foundation

/// The fundamental frequency of each frame by YIN (de Cheveigné & Kawahara 2002), on the frames of the TTS mel
/// spectrogram (centred windows of `frameLength` samples every `hopLength`, the signal reflected at its ends):
///   1. the difference function d(τ) = Σ_j (x_j − x_{j+τ})² over the first W = frameLength − τmax samples (step 2 of the paper),
///      computed from prefix sums of x² and the cross-correlation by FFT;
///   2. the cumulative mean normalised difference d′(τ) = d(τ)·τ / Σ_{k≤τ} d(k), d′(0) = 1 (step 3);
///   3. the first τ in τmin…τmax where d′ dips below `threshold`, followed down to its local minimum (step 4); no dip:
///      the frame is unvoiced (0 Hz);
///   4. parabolic interpolation of d′ around that τ (step 5).
/// τmin = ⌊rate/fmax⌋, τmax = ⌈rate/fmin⌉.
public struct PitchTracker {
    public var sampleRate: Int
    public var frameLength: Int
    public var hopLength: Int
    public var minimumFrequency: Double
    public var maximumFrequency: Double
    public var threshold: Double

    public init(sampleRate: Int = 16_000, frameLength: Int = 1024, hopLength: Int = 256, minimumFrequency: Double = 60,
                maximumFrequency: Double = 500, threshold: Double = 0.1) throws {
        (self.sampleRate, self.frameLength, self.hopLength) = (sampleRate, frameLength, hopLength)
        (self.minimumFrequency, self.maximumFrequency, self.threshold) = (minimumFrequency, maximumFrequency, threshold)
        guard minimumFrequency > 0, maximumFrequency > minimumFrequency, maximumFrequency < Double(sampleRate) / 2 else {
            throw AudioError("pitch range \(minimumFrequency)–\(maximumFrequency) Hz must be 0 < fmin < fmax < \(sampleRate / 2) Hz")
        }
        guard hopLength >= 1, 2 * lagRange.upperBound < frameLength else {
            throw AudioError("a pitch frame of \(frameLength) samples is too short for \(minimumFrequency) Hz (needs over \(2 * lagRange.upperBound))")
        }
        guard threshold > 0 && threshold < 1 else { throw AudioError("the YIN threshold must be in (0, 1), got \(threshold)") }
    }

    /// τmin…τmax in samples.
    public var lagRange: ClosedRange<Int> {
        max(2, Int(Double(sampleRate) / maximumFrequency))...Int((Double(sampleRate) / minimumFrequency).rounded(.up))
    }

    /// samples → one F0 (Hz, 0 where unvoiced) per frame: 1 + n / hop frames, as the TTS mel spectrogram has.
    public func track(_ samples: [Float]) throws -> [Float] {
        let half = frameLength / 2
        guard samples.count > half else { throw AudioError("\(samples.count) samples are too short to track pitch (over \(half) needed)") }
        // Reflect-pad by half a frame on both sides (torch.stft's centring).
        var padded = [Double](repeating: 0, count: samples.count + 2 * half)
        for i in 0..<padded.count {
            var j = i - half
            if j < 0 { j = -j }
            if j >= samples.count { j = 2 * (samples.count - 1) - j }
            padded[i] = Double(samples[j])
        }
        let frames = 1 + samples.count / hopLength
        let (lags, window) = (lagRange, frameLength - lagRange.upperBound)
        let size = 1 << Int(ceil(log2(Double(frameLength + window))))
        let spectrumCount = size / 2 + 1
        let real = fftw_alloc_real(size)!, spectrumA = fftw_alloc_complex(spectrumCount)!, spectrumB = fftw_alloc_complex(spectrumCount)!
        defer { fftw_free(real); fftw_free(spectrumA); fftw_free(spectrumB) }
        RealFFT.lock.lock()
        let forward = fftw_plan_dft_r2c_1d(Int32(size), real, spectrumA, UInt32(FFTW_ESTIMATE))!
        let backward = fftw_plan_dft_c2r_1d(Int32(size), spectrumA, real, UInt32(FFTW_ESTIMATE))!
        RealFFT.lock.unlock()
        defer { RealFFT.lock.lock(); fftw_destroy_plan(forward); fftw_destroy_plan(backward); RealFFT.lock.unlock() }

        var f0 = [Float](repeating: 0, count: frames)
        var difference = [Double](repeating: 0, count: lags.upperBound + 2)
        var squares = [Double](repeating: 0, count: frameLength + 1)
        for t in 0..<frames {
            let start = t * hopLength
            // Cross-correlation r(τ) = Σ_{j<W} x_j · x_{j+τ}: FFT of the frame against FFT of its first W samples.
            for i in 0..<size { real[i] = i < frameLength ? padded[start + i] : 0 }
            fftw_execute_dft_r2c(forward, real, spectrumA)
            for i in 0..<size { real[i] = i < window ? padded[start + i] : 0 }
            fftw_execute_dft_r2c(forward, real, spectrumB)
            for k in 0..<spectrumCount {
                // A · conj(B)
                let (ar, ai, br, bi) = (spectrumA[k].0, spectrumA[k].1, spectrumB[k].0, spectrumB[k].1)
                spectrumA[k] = (ar * br + ai * bi, ai * br - ar * bi)
            }
            fftw_execute_dft_c2r(backward, spectrumA, real)
            squares[0] = 0
            for j in 0..<frameLength { squares[j + 1] = squares[j] + padded[start + j] * padded[start + j] }
            // d(τ) = Σ_{j<W} x_j² + Σ_{j<W} x_{j+τ}² − 2 r(τ); then d′.
            var running = 0.0
            difference[0] = 1
            var chosen: Int?
            for tau in 1...lags.upperBound {
                let d = max(0, squares[window] + squares[tau + window] - squares[tau] - 2 * real[tau] / Double(size))
                running += d
                difference[tau] = running > 0 ? d * Double(tau) / running : 1
            }
            var tau = lags.lowerBound
            while tau <= lags.upperBound {
                if difference[tau] < threshold {
                    while tau + 1 <= lags.upperBound && difference[tau + 1] < difference[tau] { tau += 1 }
                    chosen = tau
                    break
                }
                tau += 1
            }
            guard let best = chosen else { continue }
            var refined = Double(best)
            if best > 1 && best < lags.upperBound {
                let (a, b, c) = (difference[best - 1], difference[best], difference[best + 1])
                let curvature = a - 2 * b + c
                if curvature > 0 { refined += 0.5 * (a - c) / curvature }
            }
            f0[t] = Float(Double(sampleRate) / refined)
        }
        return f0
    }

    /// The TTS pitch feature (FastSpeech 2 §2.3 without its wavelet transform): log F0 of voiced frames; unvoiced frames
    /// take the value linearly interpolated between the voiced frames around them (the nearest one at the ends); all
    /// zeros when no frame is voiced.
    public static func interpolatedLogPitch(_ f0: [Float]) -> [Float] {
        let voiced = f0.indices.filter { f0[$0] > 0 }
        guard let first = voiced.first, let last = voiced.last else { return [Float](repeating: 0, count: f0.count) }
        var out = [Float](repeating: 0, count: f0.count)
        for i in voiced { out[i] = log(f0[i]) }
        for i in 0..<first { out[i] = out[first] }
        for i in (last + 1)..<f0.count { out[i] = out[last] }
        for (a, b) in zip(voiced, voiced.dropFirst()) where b > a + 1 {
            for i in (a + 1)..<b { out[i] = out[a] + (out[b] - out[a]) * Float(i - a) / Float(b - a) }
        }
        return out
    }
}
