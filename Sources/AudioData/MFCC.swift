import Foundation
import Tensors

/// The options of torchaudio.compliance.kaldi.mfcc (Kaldi compute-mfcc-feats): fbank options plus the cepstrum's.
/// The filterbank is always the log power one (usePower and useLogFbank are ignored).
public struct MFCCOptions: Equatable {
    public var fbank = FbankOptions()
    public var numCeps = 13
    /// Kaldi's sinusoidal lifter 1 + (L/2) sin(π i / L); 0 turns it off.
    public var cepstralLifter: Double = 22

    public init() {}
}

/// MFCCs with the semantics of torchaudio.compliance.kaldi.mfcc: log-mel → DCT-II (orthonormal, as Kaldi's
/// ComputeDctMatrix) → lifter; with useEnergy, C0 is replaced by the frame's log energy.
public final class MFCCComputer {
    public let options: MFCCOptions
    private let filterbank: FbankComputer
    /// (numMelBins, numCeps): cepstrum = logMel · dct.
    private let dct: [Float]
    private let lifter: [Float]

    public init(options: MFCCOptions = MFCCOptions()) throws {
        var fbankOptions = options.fbank
        fbankOptions.usePower = true
        fbankOptions.useLogFbank = true
        let bins = fbankOptions.numMelBins
        guard options.numCeps >= 1, options.numCeps <= bins else {
            throw AudioError("num-ceps must be in 1...num-mel-bins (\(bins)), got \(options.numCeps)")
        }
        filterbank = try FbankComputer(options: fbankOptions)
        self.options = options
        var dct = [Float](repeating: 0, count: bins * options.numCeps)
        for n in 0..<bins {
            for k in 0..<options.numCeps {
                let value = k == 0 ? (1 / Double(bins)).squareRoot()
                    : (2 / Double(bins)).squareRoot() * cos(Double.pi / Double(bins) * (Double(n) + 0.5) * Double(k))
                dct[n * options.numCeps + k] = Float(value)
            }
        }
        self.dct = dct
        let lifterWidth = options.cepstralLifter
        lifter = (0..<options.numCeps).map { i in
            lifterWidth == 0 ? 1 : Float(1 + 0.5 * lifterWidth * sin(Double.pi * Double(i) / lifterWidth))
        }
    }

    /// samples: (n) in decoded units at fbank.sampleRate → (frames, numCeps).
    public func compute(_ samples: [Float]) -> FeatureMatrix {
        let logMel = filterbank.compute(samples)
        let bins = options.fbank.numMelBins, ceps = options.numCeps
        let melOffset = options.fbank.useEnergy ? 1 : 0
        var values = [Float](repeating: 0, count: logMel.frameCount * ceps)
        logMel.values.withUnsafeBufferPointer { input in
            dct.withUnsafeBufferPointer { dct in
                for f in 0..<logMel.frameCount {
                    let mel = input.baseAddress! + f * logMel.dimension + melOffset
                    for k in 0..<ceps {
                        var sum: Float = 0
                        for n in 0..<bins { sum += mel[n] * dct[n * ceps + k] }
                        values[f * ceps + k] = sum * lifter[k]
                    }
                    if options.fbank.useEnergy { values[f * ceps] = input[f * logMel.dimension] }
                }
            }
        }
        return FeatureMatrix(frameCount: logMel.frameCount, dimension: ceps, values: values)
    }

    /// Many utterances at once, spread over the threads by utterance.
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

    /// Throws when the waveform's rate is not the rate the options were made for.
    public func compute(_ waveform: Waveform) throws -> FeatureMatrix {
        guard Double(waveform.sampleRate) == options.fbank.sampleRate else {
            throw AudioError("waveform at \(waveform.sampleRate) Hz given to features configured for \(options.fbank.sampleRate) Hz")
        }
        return compute(waveform.samples)
    }
}
