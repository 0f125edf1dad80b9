import Foundation

/// The options of torchaudio.compliance.kaldi.fbank (Kaldi's compute-fbank-feats), same names and defaults,
/// except that VTLN and htk_compat are not offered. Times are in milliseconds, frequencies in Hz.
public struct FbankOptions: Equatable {
    public var sampleRate: Double = 16_000
    public var frameLength: Double = 25
    public var frameShift: Double = 10
    public var numMelBins = 23
    public var lowFrequency: Double = 20
    /// ≤ 0: offset from the Nyquist frequency (0 means Nyquist).
    public var highFrequency: Double = 0
    public var window: FeatureWindow = .povey
    public var blackmanCoefficient: Double = 0.42
    /// True: only frames that fit entirely in the signal. False: ⌊(n + shift/2) / shift⌋ frames over the signal
    /// mirrored at both ends.
    public var snipEdges = true
    /// Subtract each frame's mean before anything else.
    public var removeDCOffset = true
    public var preemphasis: Float = 0.97
    /// Standard deviation of Gaussian noise added to each sample (in the scaled units); 0 turns it off.
    public var dither: Float = 0
    /// Seeds the dither noise; frame f draws from its own generator, so results do not depend on threading.
    public var ditherSeed: UInt64 = 0
    /// Power spectrum (|X|²) rather than magnitude.
    public var usePower = true
    /// log(max(energy, float epsilon)) rather than the linear filter energies.
    public var useLogFbank = true
    /// Prepend the frame's log energy as column 0.
    public var useEnergy = false
    /// Energy measured before pre-emphasis and windowing (after DC removal).
    public var rawEnergy = true
    /// Floor on the energy (absolute); 0 means none. torchaudio's default 1 floors the log energy at 0.
    public var energyFloor: Float = 1
    /// Zero-pad each frame to the next power of two for the FFT.
    public var roundToPowerOfTwo = true
    /// Decoded samples lie in [-1, 1); Kaldi (and BEATs, SSAST) work in 16-bit integer units, hence 32768.
    public var inputScale: Float = 32_768

    public init() {}

    /// Samples per frame: int(rate · ms · 0.001), as torchaudio truncates it.
    public var windowSize: Int { Int(sampleRate * frameLength * 0.001) }
    public var windowShift: Int { Int(sampleRate * frameShift * 0.001) }
    /// The FFT size: the window, or the smallest power of two ≥ it.
    public var paddedWindowSize: Int {
        guard roundToPowerOfTwo else { return windowSize }
        return windowSize <= 1 ? 1 : 1 << (Int.bitWidth - (windowSize - 1).leadingZeroBitCount)
    }
    /// Columns of the output: the mel bins, plus the energy with `useEnergy`.
    public var dimension: Int { numMelBins + (useEnergy ? 1 : 0) }

    /// The options as torchaudio.compliance.kaldi keyword arguments, e.g. for a file's metadata.
    public var kaldiArguments: String {
        "sample_frequency=\(sampleRate), frame_length=\(frameLength), frame_shift=\(frameShift), "
            + "num_mel_bins=\(numMelBins), low_freq=\(lowFrequency), high_freq=\(highFrequency), "
            + "window_type='\(window.rawValue)', blackman_coeff=\(blackmanCoefficient), snip_edges=\(snipEdges), "
            + "remove_dc_offset=\(removeDCOffset), preemphasis_coefficient=\(preemphasis), dither=\(dither), "
            + "use_power=\(usePower), use_log_fbank=\(useLogFbank), use_energy=\(useEnergy), raw_energy=\(rawEnergy), "
            + "energy_floor=\(energyFloor), round_to_power_of_two=\(roundToPowerOfTwo), input_scale=\(inputScale)"
    }

    /// Frames a signal of `sampleCount` samples gives (0 when it is shorter than one window with snipEdges).
    public func frameCount(sampleCount: Int) -> Int {
        if snipEdges { return sampleCount < windowSize ? 0 : 1 + (sampleCount - windowSize) / windowShift }
        return (sampleCount + windowShift / 2) / windowShift
    }

    /// Throws an `AudioError` naming the first inconsistent option.
    public func validate() throws {
        guard sampleRate > 0 else { throw AudioError("sample rate must be positive, got \(sampleRate)") }
        guard windowShift > 0 else {
            throw AudioError("frame shift \(frameShift) ms is less than one sample at \(sampleRate) Hz")
        }
        guard windowSize >= 2 else {
            throw AudioError("frame length \(frameLength) ms gives \(windowSize) samples at \(sampleRate) Hz; need at least 2")
        }
        guard paddedWindowSize % 2 == 0 else {
            throw AudioError("frame length \(frameLength) ms gives an odd window of \(windowSize) samples; "
                + "use round-to-power-of-two or change the frame length")
        }
        guard (0...1).contains(preemphasis) else { throw AudioError("pre-emphasis must be in [0, 1], got \(preemphasis)") }
        guard dither >= 0 else { throw AudioError("dither must not be negative, got \(dither)") }
        guard energyFloor >= 0 else { throw AudioError("energy floor must not be negative, got \(energyFloor)") }
    }
}
