import CFFTW3
import Foundation

/// The constant-Q transform (Brown 1991), computed with FFTW through spectral kernels (Brown & Puckette 1992): a
/// musical teacher's targets (MERT reconstructs it). Bin k has centre frequency f_k = fmin · 2^(k/B) and a window of
/// N_k = ⌈Q · sr / f_k⌉ samples, Q = filterScale / (2^(1/B) − 1), so every bin spans the same fraction of an octave.
///
///     X[m, k] = | Σ_n x[m·hop − ⌊N_k/2⌋ + n] · w_k[n] · e^(−2πi f_k (n − ⌊N_k/2⌋) / sr) | / Σ_n w_k[n]
///
/// with w_k the periodic Hann window of N_k points and x zero outside the signal (frames centred on m·hop, as
/// librosa's center=True; 1 + samples / hop frames). A sinusoid of amplitude a at f_k gives about a / 2. Each frame
/// is one real FFT of N (the power of two ≥ N_0) samples; the kernels' spectra are kept where their magnitude is at
/// least `sparsity` times their largest (0 keeps all: the sum above exactly, to rounding; tested against a direct
/// NumPy evaluation of it, scripts/make_cqt_fixtures.py).
public struct ConstantQTransform {
    public let sampleRate: Double
    public let hop: Int
    public let fmin: Double
    public let binsPerOctave: Int
    public let bins: Int
    public let fftSize: Int
    /// Per bin, the kept terms (f, A, B): X = (1/N)·|S₀A₀ + S_{N/2}A_{N/2} + Σ_f S_f·A_f + conj(S_f)·B_f|.
    private let kernels: [[(bin: Int, a: (Double, Double), b: (Double, Double))]]

    public init(sampleRate: Double, hop: Int, fmin: Double = 32.703_195_662_574_83, binsPerOctave: Int = 12, bins: Int = 84,
                filterScale: Double = 1, sparsity: Double = 0.01) throws {
        guard sampleRate > 0, hop > 0, fmin > 0, binsPerOctave > 0, bins > 0, filterScale > 0, (0..<1).contains(sparsity) else {
            throw AudioError("constant-Q: sample rate, hop, fmin, bins per octave, bins and filter scale must be positive, sparsity in [0, 1)")
        }
        let top = fmin * pow(2, Double(bins - 1) / Double(binsPerOctave))
        guard top < sampleRate / 2 else {
            throw AudioError("constant-Q: the top bin's \(String(format: "%.1f", top)) Hz is not below the Nyquist frequency \(sampleRate / 2) Hz (fewer bins or a higher sample rate)")
        }
        (self.sampleRate, self.hop, self.fmin, self.binsPerOctave, self.bins) = (sampleRate, hop, fmin, binsPerOctave, bins)
        let q = filterScale / (pow(2, 1 / Double(binsPerOctave)) - 1)
        let lengths = (0..<bins).map { Int((q * sampleRate / (fmin * pow(2, Double($0) / Double(binsPerOctave)))).rounded(.up)) }
        var size = 2
        while size < lengths[0] { size *= 2 }
        fftSize = size
        // Each bin's kernel, centred in an N-point frame, to its N-point spectrum K; the terms keep conj(K).
        let complex = fftw_malloc(size * MemoryLayout<fftw_complex>.stride)!.bindMemory(to: fftw_complex.self, capacity: size)
        let buffer = UnsafeMutableRawPointer(complex).assumingMemoryBound(to: Double.self)
        defer { fftw_free(complex) }
        RealFFT.lock.lock()
        let plan = fftw_plan_dft_1d(Int32(size), complex, complex, FFTW_FORWARD, UInt32(FFTW_ESTIMATE))!
        RealFFT.lock.unlock()
        defer { RealFFT.lock.lock(); fftw_destroy_plan(plan); RealFFT.lock.unlock() }
        var kernels: [[(bin: Int, a: (Double, Double), b: (Double, Double))]] = []
        for k in 0..<bins {
            let length = lengths[k], half = length / 2, frequency = fmin * pow(2, Double(k) / Double(binsPerOctave))
            let window = (0..<length).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(length)) }
            let norm = window.reduce(0, +)
            buffer.update(repeating: 0, count: 2 * size)
            for n in 0..<length {
                let phase = 2 * Double.pi * frequency * Double(n - half) / sampleRate
                let j = size / 2 - half + n
                buffer[2 * j] = window[n] * cos(phase) / norm
                buffer[2 * j + 1] = window[n] * sin(phase) / norm
            }
            fftw_execute(plan)
            let magnitudes = (0..<size).map { (buffer[2 * $0] * buffer[2 * $0] + buffer[2 * $0 + 1] * buffer[2 * $0 + 1]).squareRoot() }
            let floor = sparsity * magnitudes.max()!
            // conj(K[f]) pairs with S[f]; conj(K[N − f]) with conj(S[f]) (S of a real frame is conjugate-symmetric).
            func conjugate(_ f: Int) -> (Double, Double) { magnitudes[f] >= floor && magnitudes[f] > 0 ? (buffer[2 * f], -buffer[2 * f + 1]) : (0, 0) }
            var terms: [(bin: Int, a: (Double, Double), b: (Double, Double))] = []
            for f in 0...size / 2 {
                let a = conjugate(f), b = f == 0 || f == size / 2 ? (0, 0) : conjugate(size - f)
                if a != (0, 0) || b != (0, 0) { terms.append((f, a, b)) }
            }
            kernels.append(terms)
        }
        self.kernels = kernels
    }

    /// samples (mono) → (1 + samples / hop frames) × bins magnitudes.
    public func callAsFunction(_ samples: [Float]) -> FeatureMatrix {
        let frames = 1 + samples.count / hop, size = fftSize
        var values = [Float](repeating: 0, count: frames * bins)
        let fft = RealFFT.of(size: size), scratch = FFTScratch(size: size)
        for m in 0..<frames {
            let start = m * hop - size / 2
            for j in 0..<size {
                let index = start + j
                scratch.frame[j] = index >= 0 && index < samples.count ? Double(samples[index]) : 0
            }
            let spectrum = fft.spectrum(scratch)
            for k in 0..<bins {
                var re = 0.0, im = 0.0
                for term in kernels[k] {
                    let (sr, si) = (spectrum[2 * term.bin], spectrum[2 * term.bin + 1])
                    // S·A + conj(S)·B
                    re += sr * term.a.0 - si * term.a.1 + sr * term.b.0 + si * term.b.1
                    im += sr * term.a.1 + si * term.a.0 + sr * term.b.1 - si * term.b.0
                }
                values[m * bins + k] = Float((re * re + im * im).squareRoot() / Double(size))
            }
        }
        return FeatureMatrix(frameCount: frames, dimension: bins, values: values)
    }
}
