import Foundation

/// Slaney's mel filters (Auditory Toolbox; librosa.filters.mel's default, torchaudio.functional.melscale_fbanks
/// with norm="slaney", mel_scale="slaney"), the filters of text-to-speech mel spectrograms: melCount triangles whose
/// corners are melCount + 2 points equally spaced on the Slaney mel scale from lowFrequency to highFrequency,
/// evaluated at the FFT bin frequencies k·sr/fftSize (k = 0 ... fftSize/2), each scaled by 2 / (its width in Hz) so
/// that every filter has the same area. Stored sparsely: each filter is a run of consecutive FFT bins.
/// Built in Double, as librosa builds them; torchaudio's float32 filters move a log-mel value by up to 3e-5 (printed by
/// scripts/make_tts_audio_fixtures.py), and the least-squares inverse would magnify that.
public struct SlaneyMelFilters {
    public let melCount: Int
    /// fftSize/2 + 1.
    public let binCount: Int
    /// Filter m covers FFT bins firstBin[m] ..< firstBin[m] + weights[m].count.
    public let firstBin: [Int]
    public let weights: [[Double]]
    /// The lower-triangular Cholesky factor L of the Gram matrix FᵀF = L Lᵀ, (melCount, melCount) row-major,
    /// F being the (binCount, melCount) filter matrix: what the least-squares inverse solves with.
    private let gramFactor: [Double]

    /// The Slaney mel scale: linear below 1 kHz (200/3 Hz per mel, 15 mels there), logarithmic above (27 mels per
    /// factor 6.4). The constants are computed as librosa and torchaudio compute them (their 1000 / (200/3) is
    /// 14.999999999999998).
    public static func mel(hertz: Double) -> Double {
        hertz < minLogHertz ? hertz / linearStep : minLogMel + log(hertz / minLogHertz) / logStep
    }

    public static func hertz(mel: Double) -> Double {
        mel < minLogMel ? linearStep * mel : minLogHertz * exp(logStep * (mel - minLogMel))
    }

    private static let linearStep = 200.0 / 3, minLogHertz = 1000.0, logStep = log(6.4) / 27
    private static let minLogMel = minLogHertz / linearStep

    /// Throws an `AudioError` naming n_mels, f_min or f_max when they are out of range, or when a filter falls
    /// between two FFT bins (too many mels for the FFT: it would be empty and the inverse undefined).
    public init(melCount: Int, fftSize: Int, sampleRate: Int, lowFrequency: Double, highFrequency: Double) throws {
        try Self.validate(melCount: melCount, sampleRate: sampleRate, lowFrequency: lowFrequency, highFrequency: highFrequency)
        let binCount = fftSize / 2 + 1
        let binFrequencies = linspace(0, Double(sampleRate / 2), count: binCount)
        let corners = linspace(Self.mel(hertz: lowFrequency), Self.mel(hertz: highFrequency), count: melCount + 2)
            .map { Self.hertz(mel: $0) }
        var dense = [Double](repeating: 0, count: binCount * melCount)
        var firstBin: [Int] = [], weights: [[Double]] = []
        for m in 0..<melCount {
            let (left, centre, right) = (corners[m], corners[m + 1], corners[m + 2])
            let area = 2 / (right - left)
            var run: [Double] = [], first = -1
            for (k, f) in binFrequencies.enumerated() {
                let weight = max(0, min((f - left) / (centre - left), (right - f) / (right - centre))) * area
                guard weight > 0 else { continue }
                if first < 0 { first = k }
                run.append(weight)
                dense[k * melCount + m] = weight
            }
            guard first >= 0 else {
                throw AudioError("n_mels \(melCount) is too many for n_fft \(fftSize) at \(sampleRate) Hz: mel filter \(m) "
                    + "(\(String(format: "%.1f", left))–\(String(format: "%.1f", right)) Hz) covers no FFT bin")
            }
            firstBin.append(first)
            weights.append(run)
        }
        (self.melCount, self.binCount, self.firstBin, self.weights) = (melCount, binCount, firstBin, weights)
        guard let factor = Cholesky.factor(gram(dense, rows: binCount, columns: melCount), size: melCount) else {
            throw AudioError("the mel filters are linearly dependent: the least-squares inverse needs fewer n_mels or a larger n_fft")
        }
        gramFactor = factor
    }

    static func validate(melCount: Int, sampleRate: Int, lowFrequency: Double, highFrequency: Double) throws {
        guard melCount >= 1 else { throw AudioError("n_mels must be at least 1, got \(melCount)") }
        guard lowFrequency >= 0, lowFrequency < highFrequency else {
            throw AudioError("f_min \(lowFrequency) Hz must be at least 0 and below f_max \(highFrequency) Hz")
        }
        guard highFrequency <= Double(sampleRate) / 2 else {
            throw AudioError("f_max \(highFrequency) Hz is above the Nyquist frequency \(Double(sampleRate) / 2) Hz "
                + "of sample_rate \(sampleRate)")
        }
    }

    /// magnitude: (binCount) → mel: (melCount), M = Fᵀ X.
    @inline(__always)
    func apply(magnitude: UnsafePointer<Double>, mel: UnsafeMutablePointer<Double>) {
        for m in 0..<melCount {
            let start = firstBin[m]
            var sum = 0.0
            weights[m].withUnsafeBufferPointer { w in
                for i in 0..<w.count { sum += w[i] * magnitude[start + i] }
            }
            mel[m] = sum
        }
    }

    /// mel: (melCount), overwritten → magnitude: (binCount) = max(0, F (FᵀF)⁻¹ M): the minimum-norm solution of the
    /// underdetermined Fᵀ X = M (what torchaudio.transforms.InverseMelScale gets from torch.linalg.lstsq), clamped
    /// at zero as InverseMelScale clamps it.
    func leastSquaresInverse(mel: UnsafeMutablePointer<Double>, magnitude: UnsafeMutablePointer<Double>) {
        let n = melCount
        gramFactor.withUnsafeBufferPointer { l in
            for i in 0..<n {            // L z = M
                var sum = mel[i]
                for j in 0..<i { sum -= l[i * n + j] * mel[j] }
                mel[i] = sum / l[i * n + i]
            }
            for i in stride(from: n - 1, through: 0, by: -1) {   // Lᵀ y = z
                var sum = mel[i]
                for j in i + 1..<n { sum -= l[j * n + i] * mel[j] }
                mel[i] = sum / l[i * n + i]
            }
        }
        magnitude.update(repeating: 0, count: binCount)
        for m in 0..<n {
            let start = firstBin[m], y = mel[m]
            weights[m].withUnsafeBufferPointer { w in
                for i in 0..<w.count { magnitude[start + i] += w[i] * y }
            }
        }
        for k in 0..<binCount { magnitude[k] = max(magnitude[k], 0) }
    }
}

/// `count` points from `start` to `end` as torch.linspace places them: the first half counted up from start, the
/// second half down from end, so both ends are exact.
private func linspace(_ start: Double, _ end: Double, count: Int) -> [Double] {
    guard count > 1 else { return [start] }
    let step = (end - start) / Double(count - 1)
    return (0..<count).map { $0 < count / 2 ? start + step * Double($0) : end - step * Double(count - 1 - $0) }
}

/// a: (rows, columns) row-major → aᵀa: (columns, columns).
private func gram(_ a: [Double], rows: Int, columns: Int) -> [Double] {
    var g = [Double](repeating: 0, count: columns * columns)
    for r in 0..<rows {
        for i in 0..<columns where a[r * columns + i] != 0 {
            for j in 0..<columns { g[i * columns + j] += a[r * columns + i] * a[r * columns + j] }
        }
    }
    return g
}

