import CFFTW3
import Foundation

/// A short-time spectrum: (frameCount, binCount) complex values, row-major, each an interleaved (re, im) pair of
/// doubles as FFTW lays them out.
public struct ComplexSpectrogram: Equatable {
    public var frameCount: Int
    public var binCount: Int
    /// (frameCount, binCount, 2).
    public var values: [Double]

    public init(frameCount: Int, binCount: Int, values: [Double]) {
        precondition(values.count == 2 * frameCount * binCount,
                     "\(values.count) values do not fill (\(frameCount), \(binCount)) complex bins")
        (self.frameCount, self.binCount, self.values) = (frameCount, binCount, values)
    }

    /// |X|: (frameCount, binCount).
    public var magnitude: FeatureMatrix {
        let count = frameCount * binCount
        let magnitudes = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            values.withUnsafeBufferPointer { x in
                for i in 0..<count { out[i] = Float((x[2 * i] * x[2 * i] + x[2 * i + 1] * x[2 * i + 1]).squareRoot()) }
            }
            initialized = count
        }
        return FeatureMatrix(frameCount: frameCount, dimension: binCount, values: magnitudes)
    }
}

/// The short-time Fourier transform and its inverse as torch.stft and torch.istft compute them with center=True:
/// frames of fftSize samples every hopLength, frame t centred on sample t·hop of the signal reflect-padded by
/// fftSize/2 at both ends (1 + n / hop frames), weighted by the periodic Hann window of windowLength samples
/// zero-padded at both sides to fftSize. The inverse is Griffin & Lim's least-squares estimate (1984, eq. 6): the
/// overlap-added windowed inverse FFTs divided by the overlap-added squared window.
/// In double precision throughout (see RealFFT), the window included: torchaudio's float32 Hann window leaves a
/// leakage floor about 1e-7 below a frame's peak, which moves the log-mel of near-silent bins by up to 4e-3 (printed
/// by scripts/make_tts_audio_fixtures.py). The inverse FFT's plan is this transform's own, the forward one is
/// RealFFT's shared plan. A transform is immutable, so one instance serves every thread (each call brings its buffers).
public final class ShortTimeFourierTransform {
    public let fftSize: Int
    public let hopLength: Int
    public let windowLength: Int
    public var binCount: Int { fftSize / 2 + 1 }
    /// The window occupies window[windowStart ..< windowStart + windowLength]; the rest of its fftSize is zero.
    let windowStart: Int
    /// (fftSize).
    let window: UnsafeMutablePointer<Double>
    private let forwardFFT: RealFFT
    /// fftw_plan_dft_c2r_1d: (binCount) complex → (fftSize) real, unnormalised, overwriting its input.
    private let inversePlan: fftw_plan

    /// Throws an `AudioError` naming n_fft, win_length or hop_length when they do not make an invertible transform.
    public init(fftSize: Int, hopLength: Int, windowLength: Int) throws {
        try Self.validate(fftSize: fftSize, hopLength: hopLength, windowLength: windowLength)
        (self.fftSize, self.hopLength, self.windowLength) = (fftSize, hopLength, windowLength)
        windowStart = (fftSize - windowLength) / 2
        window = .allocate(capacity: fftSize)
        window.initialize(repeating: 0, count: fftSize)
        // torch.hann_window(periodic=True): 0.5 − 0.5 cos(2πn / N), N = windowLength.
        for n in 0..<windowLength {
            window[windowStart + n] = 0.5 - 0.5 * cos(2 * Double.pi * Double(n) / Double(windowLength))
        }
        forwardFFT = RealFFT.of(size: fftSize)
        // FFTW_ESTIMATE does not touch the arrays; they only fix the alignment later arrays share (fftw_malloc).
        let buffers = InverseFFTBuffers(size: fftSize)
        RealFFT.lock.lock()
        inversePlan = fftw_plan_dft_c2r_1d(Int32(fftSize), buffers.spectrum, buffers.frame, UInt32(FFTW_ESTIMATE))!
        RealFFT.lock.unlock()
    }

    deinit {
        RealFFT.lock.lock()
        fftw_destroy_plan(inversePlan)
        RealFFT.lock.unlock()
        window.deallocate()
    }

    static func validate(fftSize: Int, hopLength: Int, windowLength: Int) throws {
        guard fftSize >= 2, fftSize % 2 == 0 else { throw AudioError("n_fft must be even and at least 2, got \(fftSize)") }
        guard (2...fftSize).contains(windowLength) else {
            throw AudioError("win_length \(windowLength) must be between 2 and n_fft \(fftSize)")
        }
        // Beyond half a Hann window, some samples near the end lie under no window but its zero ends, and the
        // inverse has nothing to divide by (torch.istft refuses such a transform for the same reason).
        guard hopLength >= 1, hopLength <= windowLength / 2 else {
            throw AudioError("hop_length \(hopLength) must be between 1 and half of win_length \(windowLength), "
                + "so that overlapping windows cover every sample the inverse STFT recovers")
        }
    }

    /// Frames of a signal of `sampleCount` samples.
    public func frameCount(sampleCount: Int) -> Int { 1 + sampleCount / hopLength }

    /// samples: (n) → (1 + n / hop, binCount) complex bins. Throws when n ≤ fftSize/2: reflect padding mirrors
    /// fftSize/2 samples at each end about the end sample, so it needs more than that.
    public func forward(_ samples: [Float]) throws -> ComplexSpectrogram {
        try checkAnalysable(length: samples.count)
        let workspace = Workspace(self, length: samples.count)
        let signal = samples.map(Double.init)
        var values = [Double](repeating: 0, count: 2 * workspace.frameCount * binCount)
        values.withUnsafeMutableBufferPointer { analyse(signal, into: $0.baseAddress!, workspace: workspace) }
        return ComplexSpectrogram(frameCount: workspace.frameCount, binCount: binCount, values: values)
    }

    /// (frames, binCount) complex bins → `length` samples, torch.istft(center=True, length=length); by default
    /// (frames − 1)·hop, torch's length without the argument. A length must give back the spectrogram's frames.
    public func inverse(_ spectrogram: ComplexSpectrogram, length: Int? = nil) throws -> [Float] {
        guard spectrogram.binCount == binCount else {
            throw AudioError("the spectrogram has \(spectrogram.binCount) bins per frame; n_fft \(fftSize) gives \(binCount)")
        }
        let length = length ?? (spectrogram.frameCount - 1) * hopLength
        try checkLength(length, frameCount: spectrogram.frameCount)
        let workspace = Workspace(self, length: length)
        var signal = [Double](repeating: 0, count: length)
        signal.withUnsafeMutableBufferPointer { out in
            spectrogram.values.withUnsafeBufferPointer { synthesise($0.baseAddress!, into: out.baseAddress!, workspace: workspace) }
        }
        return signal.map(Float.init)
    }

    /// A length that gives `frameCount` frames: from (frames − 1)·hop to frames·hop − 1 samples.
    func checkLength(_ length: Int, frameCount: Int) throws {
        guard frameCount >= 1, length >= 1, self.frameCount(sampleCount: length) == frameCount else {
            throw AudioError("length \(length) gives \(self.frameCount(sampleCount: max(length, 0))) frames at hop_length "
                + "\(hopLength), but the spectrogram has \(frameCount) (lengths \(max((frameCount - 1) * hopLength, 1)) "
                + "to \(frameCount * hopLength - 1) fit)")
        }
    }

    func checkAnalysable(length: Int) throws {
        guard length > fftSize / 2 else {
            throw AudioError("a signal of \(length) samples is too short for n_fft \(fftSize): reflect padding needs "
                + "more than \(fftSize / 2)")
        }
    }

    /// signal: (workspace.length) → spectrum: (frames, binCount, 2), torch.stft(center=True, pad_mode="reflect").
    func analyse(_ signal: UnsafePointer<Double>, into spectrum: UnsafeMutablePointer<Double>, workspace: Workspace) {
        let n = workspace.length, half = fftSize / 2, padded = workspace.padded
        // Reflection about the end samples, which are not repeated: x[−i] = x[i], x[n − 1 + i] = x[n − 1 − i].
        for i in 0..<half {
            padded[i] = signal[half - i]
            padded[half + n + i] = signal[n - 2 - i]
        }
        (padded + half).update(from: signal, count: n)
        let frame = workspace.forward.frame
        for t in 0..<workspace.frameCount {
            let source = padded + t * hopLength
            for j in windowStart..<windowStart + windowLength { frame[j] = source[j] * window[j] }
            (spectrum + 2 * binCount * t).update(from: forwardFFT.spectrum(workspace.forward), count: 2 * binCount)
        }
    }

    /// spectrum: (frames, binCount, 2) → signal: (workspace.length), torch.istft(center=True, length=length).
    func synthesise(_ spectrum: UnsafePointer<Double>, into signal: UnsafeMutablePointer<Double>, workspace: Workspace) {
        let overlap = workspace.overlap, scale = 1 / Double(fftSize)
        let input = UnsafeMutableRawPointer(workspace.inverse.spectrum).assumingMemoryBound(to: Double.self)
        let output = workspace.inverse.frame
        overlap.update(repeating: 0, count: workspace.overlapLength)
        for t in 0..<workspace.frameCount {
            input.update(from: spectrum + 2 * binCount * t, count: 2 * binCount)
            // A one-sided spectrum of a real frame: the imaginary parts of DC and Nyquist are not part of it (irfft).
            input[1] = 0
            input[2 * binCount - 1] = 0
            fftw_execute_dft_c2r(inversePlan, workspace.inverse.spectrum, output)
            let target = overlap + t * hopLength
            for j in windowStart..<windowStart + windowLength { target[j] += output[j] * scale * window[j] }
        }
        let envelope = workspace.envelope, start = fftSize / 2
        for i in 0..<workspace.length { signal[i] = overlap[start + i] / envelope[i] }
    }

    /// The buffers of transforms of one signal length, allocated once and reused by every frame (and every
    /// Griffin-Lim iteration). One per thread.
    final class Workspace {
        let length: Int
        let frameCount: Int
        /// (length + fftSize): the reflect-padded signal.
        let padded: UnsafeMutablePointer<Double>
        /// (overlapLength = fftSize + hop·(frames − 1)): the overlap-add of the windowed inverse frames.
        let overlapLength: Int
        let overlap: UnsafeMutablePointer<Double>
        /// (length): Σ_t w²[fftSize/2 + i − t·hop], the overlap-added squared window over the output samples.
        let envelope: UnsafeMutablePointer<Double>
        let forward: FFTScratch
        let inverse: InverseFFTBuffers

        init(_ transform: ShortTimeFourierTransform, length: Int) {
            let fftSize = transform.fftSize
            self.length = length
            frameCount = transform.frameCount(sampleCount: length)
            padded = .allocate(capacity: length + fftSize)
            overlapLength = fftSize + transform.hopLength * (frameCount - 1)
            overlap = .allocate(capacity: overlapLength)
            envelope = .allocate(capacity: length)
            forward = FFTScratch(size: fftSize)
            inverse = InverseFFTBuffers(size: fftSize)
            overlap.initialize(repeating: 0, count: overlapLength)
            for t in 0..<frameCount {
                for j in 0..<fftSize { overlap[t * transform.hopLength + j] += transform.window[j] * transform.window[j] }
            }
            // length ≤ frames·hop − 1 and hop ≤ fftSize/2 keep fftSize/2 + length within the overlap-add.
            for i in 0..<length { envelope[i] = overlap[fftSize / 2 + i] }
            precondition((0..<length).allSatisfy { envelope[$0] > 1e-11 }, "window overlap-add vanishes (hop too large)")
        }

        deinit {
            padded.deallocate()
            overlap.deallocate()
            envelope.deallocate()
        }
    }
}

/// The inverse real FFT's buffers, allocated with fftw_malloc like FFTScratch's.
final class InverseFFTBuffers {
    /// (size/2 + 1) complex input; c2r overwrites it.
    let spectrum: UnsafeMutablePointer<fftw_complex>
    /// (size) real output.
    let frame: UnsafeMutablePointer<Double>

    init(size: Int) {
        spectrum = fftw_malloc((size / 2 + 1) * MemoryLayout<fftw_complex>.stride)!
            .bindMemory(to: fftw_complex.self, capacity: size / 2 + 1)
        frame = fftw_malloc(size * MemoryLayout<Double>.stride)!.bindMemory(to: Double.self, capacity: size)
    }

    deinit {
        fftw_free(spectrum)
        fftw_free(frame)
    }
}
