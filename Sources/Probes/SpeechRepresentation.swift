import AudioData
import Foundation
import Tensors

/// What a probe sees of an utterance: the hidden states of every layer of a frozen model, each (T', C).
/// Implementations run without gradients; the probe learns only its layer weights and head.
public protocol SpeechRepresentation: AnyObject {
    /// Shown in result tables ("fbank", "random-init encoder", a checkpoint path).
    var name: String { get }
    var layerCount: Int { get }
    var dimension: Int { get }
    /// Hidden states of each layer for one 16 kHz waveform: `layerCount` tensors of shape (T', dimension).
    func hiddenStates(_ waveform: Waveform) throws -> [Tensor]
}

/// A baseline without a model: per-frame features normalised per bin with statistics of the probe's own training
/// utterances (one "layer"). The fbank (log-mel, 80 values a frame) and the log constant-Q transform (84 semitone
/// bins, MERT's musical features) are the two.
public class FeatureRepresentation: SpeechRepresentation {
    public let name: String
    public let layerCount = 1
    public let dimension: Int
    let compute: (Waveform) throws -> FeatureMatrix
    var normalization: FeatureNormalization?

    init(name: String, dimension: Int, compute: @escaping (Waveform) throws -> FeatureMatrix) {
        (self.name, self.dimension, self.compute) = (name, dimension, compute)
    }

    /// Per-bin mean and deviation from these waveforms (the probe's training set).
    public func fitNormalization(_ waveforms: [Waveform]) throws {
        var accumulator = FeatureStatisticsAccumulator(dimension: dimension)
        for waveform in waveforms { try accumulator.add(try compute(waveform)) }
        normalization = try accumulator.normalization()
    }

    public func hiddenStates(_ waveform: Waveform) throws -> [Tensor] {
        var features = try compute(waveform)
        if let normalization { features = try normalization.normalize(features) }
        return [Tensor(features.values, shape: [features.frameCount, features.dimension])]
    }
}

/// The log-mel filterbank baseline.
public final class FbankRepresentation: FeatureRepresentation {
    public init(options: FbankOptions) throws {
        let computer = try FbankComputer(options: options)
        super.init(name: "fbank", dimension: options.dimension, compute: { try computer.compute($0) })
    }
}

/// The log constant-Q baseline: `bins` semitones from C1 on the fbank's 10 ms frames (as `pretrain features prepare
/// --kind cqt` computes them), for 16 kHz audio.
public final class ConstantQRepresentation: FeatureRepresentation {
    public init(bins: Int = 84) throws {
        let fbank = FbankOptions()
        let transform = try ConstantQTransform(sampleRate: fbank.sampleRate, hop: fbank.windowShift, bins: bins)
        super.init(name: "cqt", dimension: bins, compute: { waveform in
            guard Double(waveform.sampleRate) == fbank.sampleRate else {
                throw AudioError("waveform at \(waveform.sampleRate) Hz given to the constant-Q features of \(fbank.sampleRate) Hz")
            }
            return FeatureCorpusPreparation.constantQFrames(waveform.samples, transform: transform, fbank: fbank)
        })
    }
}

/// One layer of another representation, probed alone (s3prl's single-layer probing) instead of SUPERB's learned
/// weighted sum of all layers: shows which layer carries what the sum mixes.
public final class SingleLayerRepresentation: SpeechRepresentation {
    public let base: SpeechRepresentation
    public let layer: Int
    public var name: String { "\(base.name) layer \(layer)" }
    public let layerCount = 1
    public var dimension: Int { base.dimension }

    /// Throws unless `layer` is one of base's (0 … layerCount − 1; 0 is an encoder's input layer).
    public init(_ base: SpeechRepresentation, layer: Int) throws {
        guard (0..<base.layerCount).contains(layer) else {
            throw ProbeDataError("layer \(layer) is outside 0…\(base.layerCount - 1): \(base.name) has \(base.layerCount) layers "
                + "(0 is the encoder's input layer)")
        }
        self.base = base
        self.layer = layer
    }

    public func hiddenStates(_ waveform: Waveform) throws -> [Tensor] {
        [try base.hiddenStates(waveform)[layer]]
    }
}
