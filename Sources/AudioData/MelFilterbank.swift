import Foundation

/// Kaldi's triangular mel filters (mel-computations.cc, torchaudio.compliance.kaldi.get_mel_banks without VTLN):
/// `binCount` triangles equally spaced on the mel scale 1127 ln(1 + f/700) between lowFrequency and highFrequency,
/// overlapping by half, evaluated at the FFT bins 0..<fftSize/2 (the Nyquist bin gets weight 0).
/// Stored sparsely: each filter is a run of consecutive FFT bins.
public struct MelFilterbank {
    public let binCount: Int
    /// Filter b covers FFT bins firstBin[b] ..< firstBin[b] + weights[b].count.
    public let firstBin: [Int]
    public let weights: [[Float]]

    public static func mel(_ hertz: Double) -> Double { 1127 * log(1 + hertz / 700) }

    /// `highFrequency` ≤ 0 is an offset from the Nyquist frequency (Kaldi's convention: 0 means Nyquist).
    public init(binCount: Int, fftSize: Int, sampleRate: Double, lowFrequency: Double, highFrequency: Double) throws {
        let nyquist = sampleRate / 2
        let high = highFrequency <= 0 ? highFrequency + nyquist : highFrequency
        guard binCount > 3 else { throw AudioError("num-mel-bins must be at least 4, got \(binCount)") }
        guard 0 <= lowFrequency, lowFrequency < nyquist, 0 < high, high <= nyquist, lowFrequency < high else {
            throw AudioError("bad mel frequency range: low-freq \(lowFrequency) Hz and high-freq \(highFrequency) Hz "
                + "(→ \(high) Hz) at sample rate \(sampleRate) Hz (Nyquist \(nyquist) Hz)")
        }
        // Float arithmetic where torchaudio uses float32 tensors (get_mel_banks builds them in float32 and casts
        // to the waveform's dtype): with 80+ narrow filters, weights computed in Double differ by up to 7e-3 in
        // log-mel.
        let fftBinWidth = Float(sampleRate / Double(fftSize))
        let melLow = Self.mel(lowFrequency)
        // num_bins + 1 intervals: the outer triangles spread half an interval beyond their centres.
        let melDelta = (Self.mel(high) - melLow) / Double(binCount + 1)
        let binMels = (0..<fftSize / 2).map { 1127 * log(1 + fftBinWidth * Float($0) / 700) }
        var firstBin: [Int] = []
        var weights: [[Float]] = []
        for b in 0..<binCount {
            let left = Float(melLow) + Float(b) * Float(melDelta)
            let center = Float(melLow) + Float(b + 1) * Float(melDelta)
            let right = Float(melLow) + Float(b + 2) * Float(melDelta)
            var first = -1
            var run: [Float] = []
            for (k, m) in binMels.enumerated() {
                let weight = max(0, min((m - left) / (center - left), (right - m) / (right - center)))
                if weight > 0 {
                    if first < 0 { first = k }
                    // Zero weights inside the run cannot occur for a triangle; fill them for a contiguous run anyway.
                    while first + run.count < k { run.append(0) }
                    run.append(weight)
                }
            }
            firstBin.append(max(first, 0))
            weights.append(run)
        }
        self.binCount = binCount
        self.firstBin = firstBin
        self.weights = weights
    }

    /// power: (fftSize/2 + 1) → energies: (binCount), the weighted sums of each filter, in double like the power
    /// spectrum (the float32 weights are exact in double, as torchaudio casts them).
    @inline(__always)
    func apply(power: UnsafePointer<Double>, energies: UnsafeMutablePointer<Double>) {
        for b in 0..<binCount {
            let start = firstBin[b]
            var sum: Double = 0
            weights[b].withUnsafeBufferPointer { w in
                for i in 0..<w.count { sum += Double(w[i]) * power[start + i] }
            }
            energies[b] = sum
        }
    }
}
