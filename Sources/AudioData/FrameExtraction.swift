import Foundation
import Tensors

/// Kaldi's frame preparation (feature-window.cc ExtractWindow / ProcessWindow, as torchaudio's _get_window does it):
/// cut frame f out of the signal, dither, remove the DC offset, measure the raw energy, pre-emphasise, window,
/// zero-pad to the FFT size. In double: float32 rounding here (as in the FFT) leaves noise ~1e-7 of the frame's
/// peak amplitude, which dominates the mel bins 80 dB or more below the frame's peak.
struct FrameExtractor {
    let options: FbankOptions
    let window: [Double]
    /// Kaldi's floor for logs: std::numeric_limits<float>::epsilon() (torchaudio uses it in float64 too).
    static let logFloor = Double(Float.ulpOfOne)

    init(options: FbankOptions) {
        self.options = options
        window = options.window.weights(size: options.windowSize, blackmanCoefficient: options.blackmanCoefficient)
    }

    /// samples: (n) in decoded units → frame: (paddedWindowSize), whose tail past windowSize must be zero on entry
    /// and stays zero. Returns the frame's log energy (raw or windowed, as the options say; 0 without useEnergy).
    func extract(frame index: Int, samples: UnsafeBufferPointer<Float>, into frame: UnsafeMutablePointer<Double>) -> Double {
        let size = options.windowSize, shift = options.windowShift, scale = Double(options.inputScale)
        let n = samples.count
        if options.snipEdges {
            let start = index * shift
            for j in 0..<size { frame[j] = Double(samples[start + j]) * scale }
        } else {
            // Frames centred on multiples of the shift; the signal mirrored at both ends (x[-1] = x[0]).
            let start = index * shift + shift / 2 - size / 2
            for j in 0..<size { frame[j] = Double(samples[Self.reflected(start + j, count: n)]) * scale }
        }
        if options.dither != 0 {
            var generator = RandomGenerator(seed: options.ditherSeed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
            let dither = Double(options.dither)
            for j in 0..<size { frame[j] += dither * Double(generator.nextNormal()) }
        }
        if options.removeDCOffset {
            var sum: Double = 0
            for j in 0..<size { sum += frame[j] }
            let mean = sum / Double(size)
            for j in 0..<size { frame[j] -= mean }
        }
        var logEnergy: Double = 0
        if options.useEnergy && options.rawEnergy { logEnergy = self.logEnergy(frame, count: size) }
        let preemphasis = Double(options.preemphasis)
        if preemphasis != 0 {
            for j in stride(from: size - 1, to: 0, by: -1) { frame[j] -= preemphasis * frame[j - 1] }
            frame[0] -= preemphasis * frame[0]
        }
        window.withUnsafeBufferPointer { w in
            for j in 0..<size { frame[j] *= w[j] }
        }
        if options.useEnergy && !options.rawEnergy { logEnergy = self.logEnergy(frame, count: size) }
        return logEnergy
    }

    /// log(max(Σ x², ε)), then floored at log(energyFloor) when that is set.
    private func logEnergy(_ frame: UnsafeMutablePointer<Double>, count: Int) -> Double {
        var sum: Double = 0
        for j in 0..<count { sum += frame[j] * frame[j] }
        let energy = log(max(sum, Self.logFloor))
        return options.energyFloor == 0 ? energy : max(energy, log(Double(options.energyFloor)))
    }

    /// Index i of a signal of `count` samples mirrored at both ends: x[-1 - i] = x[i], x[count + i] = x[count - 1 - i].
    static func reflected(_ index: Int, count: Int) -> Int {
        var i = index
        while i < 0 || i >= count {
            if i < 0 { i = -1 - i }
            if i >= count { i = 2 * count - 1 - i }
        }
        return i
    }
}
