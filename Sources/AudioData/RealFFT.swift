import CFFTW3
import Foundation

/// Forward real FFT of one size from FFTW's double-precision library. Double, not single: a float32 transform
/// leaves a rounding floor near 1e-7 of the frame's peak amplitude, which decides the log of any mel bin 80 dB or
/// more below the frame's peak (up to 4e-3 off torchaudio's float64 Kaldi fbank); in double that floor is ~1e-16.
/// The plan is made once per size and shared: FFTW's planner is not thread-safe, so creation happens under a lock;
/// executing a plan on new arrays (fftw_execute_dft_r2c) is thread-safe, so every caller brings its own `FFTScratch`.
public final class RealFFT {
    public let size: Int
    fileprivate let plan: fftw_plan

    /// Held around every FFTW planner call (RealFFT's plans and others, such as the constant-Q kernels').
    static let lock = NSLock()
    private static var plans: [Int: RealFFT] = [:]

    /// The shared transform of `size` points (created on first use).
    public static func of(size: Int) -> RealFFT {
        lock.lock()
        defer { lock.unlock() }
        if let existing = plans[size] { return existing }
        let made = RealFFT(size: size)
        plans[size] = made
        return made
    }

    private init(size: Int) {
        precondition(size >= 2, "FFT size must be at least 2")
        self.size = size
        // FFTW_ESTIMATE does not touch the arrays; the scratch only fixes the alignment later arrays must share.
        let scratch = FFTScratch(size: size)
        plan = fftw_plan_dft_r2c_1d(Int32(size), scratch.frame, scratch.spectrum, UInt32(FFTW_ESTIMATE))!
    }

    /// scratch.frame: (size) real samples → scratch.spectrum: (size/2 + 1) complex bins → power: (size/2 + 1),
    /// |X_k|². The frame is left as it was (r2c out of place preserves its input for 1-D transforms).
    @inline(__always)
    public func powerSpectrum(_ scratch: FFTScratch, into power: UnsafeMutablePointer<Double>) {
        precondition(scratch.size == size, "scratch for \(scratch.size) points used with a \(size)-point FFT")
        fftw_execute_dft_r2c(plan, scratch.frame, scratch.spectrum)
        let bins = UnsafeMutableRawPointer(scratch.spectrum).assumingMemoryBound(to: Double.self)
        for k in 0...size / 2 {
            let (re, im) = (bins[2 * k], bins[2 * k + 1])
            power[k] = re * re + im * im
        }
    }
}

extension RealFFT {
    /// scratch.frame → scratch.spectrum, (size/2 + 1) complex bins, interleaved (re, im) doubles.
    @inline(__always)
    func spectrum(_ scratch: FFTScratch) -> UnsafePointer<Double> {
        precondition(scratch.size == size, "scratch for \(scratch.size) points used with a \(size)-point FFT")
        fftw_execute_dft_r2c(plan, scratch.frame, scratch.spectrum)
        return UnsafeRawPointer(scratch.spectrum).assumingMemoryBound(to: Double.self)
    }
}

/// Per-thread FFT buffers, allocated with fftw_malloc so that they have the alignment plans were made for.
public final class FFTScratch {
    public let size: Int
    /// (size) real input.
    public let frame: UnsafeMutablePointer<Double>
    /// (size/2 + 1) complex output.
    let spectrum: UnsafeMutablePointer<fftw_complex>

    public init(size: Int) {
        self.size = size
        frame = fftw_malloc(size * MemoryLayout<Double>.stride)!.bindMemory(to: Double.self, capacity: size)
        frame.initialize(repeating: 0, count: size)
        spectrum = fftw_malloc((size / 2 + 1) * MemoryLayout<fftw_complex>.stride)!
            .bindMemory(to: fftw_complex.self, capacity: size / 2 + 1)
    }

    deinit {
        fftw_free(frame)
        fftw_free(spectrum)
    }
}
