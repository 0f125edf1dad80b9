import Tensors

/// An audio encoder whose positions an objective can label and mask (the frame and the patch encoder): what each
/// position reads, which positions hold audio, and encoding with masked positions replaced by the mask embedding.
/// Masked prediction, the random-projection quantiser and k-means labels ask these instead of the concrete type.
public protocol MaskableAudioEncoder: AudioEncoder {
    /// Positions follow time one step each (an objective masks spans of them), rather than a time × frequency grid
    /// (an objective masks a fraction of the patches).
    var positionsAreTimeSteps: Bool { get }
    /// Whether the encoder was made with a mask embedding.
    var canMask: Bool { get }
    /// features: (B, T, F) → what each position embeds, (B, N, positionInputSize): stacked frames or patches.
    func positionInputs(_ features: Tensor) -> Tensor
    /// N, the positions of crops `frames` long.
    func positionCount(frames: Int) -> Int
    /// The positions of each row that hold audio, for rows of `lengths` frames in crops `frames` long.
    func validPositions(_ lengths: [Int], frames: Int) -> [Int]
    /// Every layer's states with the positions flagged in `masked` (B·N) replaced by the mask embedding.
    func encodeMasked(_ features: Tensor, lengths: [Int], masked: [Bool]) -> AudioEncoderOutput
}

extension AudioFrameEncoder: MaskableAudioEncoder {
    public var positionsAreTimeSteps: Bool { true }
    public var canMask: Bool { maskEmbedding != nil }
    public func positionInputs(_ features: Tensor) -> Tensor { noGrad { stackFrames(features) } }
    public func positionCount(frames: Int) -> Int { (frames + config.frameStack - 1) / config.frameStack }
    public func validPositions(_ lengths: [Int], frames: Int) -> [Int] { stackedLengths(lengths.map { min($0, frames) }) }
    public func encodeMasked(_ features: Tensor, lengths: [Int], masked: [Bool]) -> AudioEncoderOutput {
        encode(features, lengths: lengths, masked: masked)
    }
}

extension AudioPatchEncoder: MaskableAudioEncoder {
    public var positionsAreTimeSteps: Bool { false }
    public var canMask: Bool { true }
    public func positionInputs(_ features: Tensor) -> Tensor { patches(features) }
    public func positionCount(frames: Int) -> Int { frames / config.patchTime * rows }
    public func validPositions(_ lengths: [Int], frames: Int) -> [Int] {
        patchColumns(lengths, columns: frames / config.patchTime).map { $0 * rows }
    }
    public func encodeMasked(_ features: Tensor, lengths: [Int], masked: [Bool]) -> AudioEncoderOutput {
        encode(patches: patches(features), lengths: lengths, masked: masked)
    }
}
