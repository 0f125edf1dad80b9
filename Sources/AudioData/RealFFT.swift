import CFFTW3f
import Foundation

/// Forward real FFT of one size from FFTW's single-precision library. The plan is made once per size and shared:
/// FFTW's planner is not thread-safe, so creation happens under a lock; executing a plan on new arrays
/// (fftwf_execute_dft_r2c) is thread-safe, so every caller brings its own `FFTScratch`.
public final class RealFFT {
    public let size: Int
    private let plan: fftwf_plan

    private static let lock = NSLock()
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
        plan = fftwf_plan_dft_r2c_1d(Int32(size), scratch.frame, scratch.spectrum, UInt32(FFTW_ESTIMATE))!
    }

    /// scratch.frame: (size) real samples → scratch.spectrum: (size/2 + 1) complex bins → power: (size/2 + 1),
    /// |X_k|². The frame is left as it was (r2c out of place preserves its input for 1-D transforms).
    @inline(__always)
    public func powerSpectrum(_ scratch: FFTScratch, into power: UnsafeMutablePointer<Float>) {
        precondition(scratch.size == size, "scratch for \(scratch.size) points used with a \(size)-point FFT")
        fftwf_execute_dft_r2c(plan, scratch.frame, scratch.spectrum)
        let bins = UnsafeMutableRawPointer(scratch.spectrum).assumingMemoryBound(to: Float.self)
        for k in 0...size / 2 {
            let (re, im) = (bins[2 * k], bins[2 * k + 1])
            power[k] = re * re + im * im
        }
    }
}

/// Per-thread FFT buffers, allocated with fftwf_malloc so that they have the alignment plans were made for.
public final class FFTScratch {
    public let size: Int
    /// (size) real input.
    public let frame: UnsafeMutablePointer<Float>
    /// (size/2 + 1) complex output.
    let spectrum: UnsafeMutablePointer<fftwf_complex>

    public init(size: Int) {
        self.size = size
        frame = fftwf_malloc(size * MemoryLayout<Float>.stride)!.bindMemory(to: Float.self, capacity: size)
        frame.initialize(repeating: 0, count: size)
        spectrum = fftwf_malloc((size / 2 + 1) * MemoryLayout<fftwf_complex>.stride)!
            .bindMemory(to: fftwf_complex.self, capacity: size / 2 + 1)
    }

    deinit {
        fftwf_free(frame)
        fftwf_free(spectrum)
    }
}
