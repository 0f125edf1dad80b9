import Foundation
import Tensors

/// Log-mel filterbank energies with the semantics of torchaudio.compliance.kaldi.fbank (Kaldi compute-fbank-feats).
/// Build once per option set (window, mel filters and FFT plan are made here) and reuse; `compute` is thread-safe.
public final class FbankComputer {
    public let options: FbankOptions
    public let melFilters: MelFilterbank
    let frames: FrameExtractor
    let fft: RealFFT

    public init(options: FbankOptions = FbankOptions()) throws {
        try options.validate()
        self.options = options
        frames = FrameExtractor(options: options)
        melFilters = try MelFilterbank(binCount: options.numMelBins, fftSize: options.paddedWindowSize,
                                       sampleRate: options.sampleRate, lowFrequency: options.lowFrequency,
                                       highFrequency: options.highFrequency)
        fft = RealFFT.of(size: options.paddedWindowSize)
    }

    /// samples: (n) in decoded units ([-1, 1)) at options.sampleRate → (frames, dimension). Frames are spread over
    /// the worker threads (a call from inside a parallel region runs serially).
    public func compute(_ samples: UnsafeBufferPointer<Float>) -> FeatureMatrix {
        let frameCount = options.frameCount(sampleCount: samples.count)
        let dimension = options.dimension
        var values = [Float](repeating: 0, count: frameCount * dimension)
        values.withUnsafeMutableBufferPointer { out in
            let output = out.baseAddress!
            parallelFor(frameCount, grain: 32) { range in
                let scratch = FFTScratch(size: fft.size)
                let power = UnsafeMutablePointer<Double>.allocate(capacity: fft.size / 2 + 1)
                let mel = UnsafeMutablePointer<Double>.allocate(capacity: options.numMelBins)
                defer { power.deallocate(); mel.deallocate() }
                for f in range {
                    computeFrame(f, samples: samples, scratch: scratch, power: power, mel: mel, row: output + f * dimension)
                }
            }
        }
        return FeatureMatrix(frameCount: frameCount, dimension: dimension, values: values)
    }

    public func compute(_ samples: [Float]) -> FeatureMatrix {
        samples.withUnsafeBufferPointer { compute($0) }
    }

    /// Throws when the waveform's rate is not the rate the options were made for.
    public func compute(_ waveform: Waveform) throws -> FeatureMatrix {
        guard Double(waveform.sampleRate) == options.sampleRate else {
            throw AudioError("waveform at \(waveform.sampleRate) Hz given to features configured for \(options.sampleRate) Hz")
        }
        return compute(waveform.samples)
    }

    /// Many utterances at once: spread over the threads by utterance (each computed serially), which keeps
    /// every thread busy when utterances are short.
    public func compute(batch: [[Float]]) -> [FeatureMatrix] {
        var results = [FeatureMatrix?](repeating: nil, count: batch.count)
        results.withUnsafeMutableBufferPointer { out in
            let slots = out.baseAddress!
            parallelFor(batch.count) { range in
                for i in range { slots[i] = compute(batch[i]) }
            }
        }
        return results.map { $0! }
    }

    /// One frame → row: (dimension) = [log energy if useEnergy] + mel energies (logged if useLogFbank). Everything
    /// up to the log is double (see RealFFT for why); rounding an energy to Float moves its log by at most 6e-8,
    /// so the log itself is taken in Float (cheaper).
    private func computeFrame(_ index: Int, samples: UnsafeBufferPointer<Float>, scratch: FFTScratch,
                              power: UnsafeMutablePointer<Double>, mel: UnsafeMutablePointer<Double>,
                              row: UnsafeMutablePointer<Float>) {
        let logEnergy = frames.extract(frame: index, samples: samples, into: scratch.frame)
        fft.powerSpectrum(scratch, into: power)
        if !options.usePower {
            for k in 0...fft.size / 2 { power[k] = power[k].squareRoot() }
        }
        melFilters.apply(power: power, energies: mel)
        let melRow = options.useEnergy ? row + 1 : row
        for b in 0..<options.numMelBins {
            melRow[b] = options.useLogFbank ? log(Float(max(mel[b], FrameExtractor.logFloor))) : Float(mel[b])
        }
        if options.useEnergy { row[0] = Float(logEnergy) }
    }
}
