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

/// The baseline: log-mel filterbank frames normalised per bin with statistics of the probe's own training
/// utterances (one "layer" of 80 values a frame).
public final class FbankRepresentation: SpeechRepresentation {
    public let name = "fbank"
    public let layerCount = 1
    public var dimension: Int { computer.options.numMelBins }
    let computer: FbankComputer
    var normalization: FeatureNormalization?

    public init(options: FbankOptions) throws {
        computer = try FbankComputer(options: options)
    }

    /// Per-bin mean and deviation from these waveforms (the probe's training set).
    public func fitNormalization(_ waveforms: [Waveform]) throws {
        var accumulator = FeatureStatisticsAccumulator(dimension: dimension)
        for waveform in waveforms { try accumulator.add(try computer.compute(waveform)) }
        normalization = try accumulator.normalization()
    }

    public func hiddenStates(_ waveform: Waveform) throws -> [Tensor] {
        var features = try computer.compute(waveform)
        if let normalization { features = try normalization.normalize(features) }
        return [Tensor(features.values, shape: [features.frameCount, features.dimension])]
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
