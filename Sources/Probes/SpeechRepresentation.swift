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
