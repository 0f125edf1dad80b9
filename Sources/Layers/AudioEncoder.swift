import Tensors

/// Shape of an audio encoder (frame- or patch-based); a recipe's `model:` section fills it.
public struct AudioEncoderConfig: Equatable {
    public enum Positions: String, CaseIterable {
        /// A learned table, one row per position (BERT, TERA, SSAST).
        case learned
        /// A grouped 1-D convolution over time followed by GELU (wav2vec 2.0 §2, HuBERT); no length limit.
        case convolutional
        /// No position information in the input (position prediction's encoder, Zhai et al. 2022): attention alone
        /// cannot tell one position from another.
        case none
    }

    /// The layers of the Transformer body.
    public enum Block: String, CaseIterable {
        /// BERT's post-LN layer (TERA, SSAST, HuBERT, wav2vec 2.0).
        case bert
        /// The Conformer layer (Gulati et al. 2020; w2v-BERT's encoder): macaron feed-forward halves, attention with
        /// rotary positions, a depthwise convolution module over time.
        case conformer
    }

    /// Feature bins per frame (80 for the default fbank).
    public var featureDimension: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    /// The longest input, in feature frames (the learned position table covers it).
    public var maxFrames: Int
    /// Frame encoder: consecutive frames concatenated into one input vector (TERA/Mockingjay downsampling).
    public var frameStack: Int
    /// Patch encoder: patch size in bins (frequency) and frames (time); SSAST uses 16 × 16.
    public var patchFrequency: Int
    public var patchTime: Int
    public var positions: Positions
    /// Convolutional positions: kernel width and groups (wav2vec 2.0: 128 and 16, scaled down for small models).
    public var convolutionKernel: Int
    public var convolutionGroups: Int
    public var layerNormEps: Float
    public var dropout: Float
    public var block: Block
    /// Conformer layers: the depthwise convolution's kernel in positions (odd; the paper's 32 is even, 15 and 31
    /// are the usual odd choices).
    public var conformerKernel: Int

    public init(featureDimension: Int = 80, hiddenSize: Int = 192, layers: Int = 4, heads: Int = 4,
                intermediateSize: Int? = nil, maxFrames: Int = 512, frameStack: Int = 1, patchFrequency: Int = 16,
                patchTime: Int = 16, positions: Positions = .learned, convolutionKernel: Int = 32,
                convolutionGroups: Int = 16, layerNormEps: Float = 1e-12, dropout: Float = 0, block: Block = .bert,
                conformerKernel: Int = 15) {
        self.featureDimension = featureDimension
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize ?? 4 * hiddenSize
        self.maxFrames = maxFrames
        self.frameStack = frameStack
        self.patchFrequency = patchFrequency
        self.patchTime = patchTime
        self.positions = positions
        self.convolutionKernel = convolutionKernel
        self.convolutionGroups = convolutionGroups
        self.layerNormEps = layerNormEps
        self.dropout = dropout
        self.block = block
        self.conformerKernel = conformerKernel
    }

    /// The Transformer body this configuration asks for: `layers` BERT or Conformer layers.
    public func makeLayers(generator: inout RandomGenerator) -> [any AudioEncoderLayer] {
        (0..<layers).map { _ -> any AudioEncoderLayer in
            switch block {
            case .bert:
                return BertLayer(dModel: hiddenSize, heads: heads, intermediateSize: intermediateSize, eps: layerNormEps,
                                 dropout: dropout, generator: &generator)
            case .conformer:
                return ConformerLayer(dModel: hiddenSize, heads: heads, intermediateSize: intermediateSize,
                                      kernel: conformerKernel, eps: layerNormEps, dropout: dropout, generator: &generator)
            }
        }
    }
}

/// Every layer's output of an audio encoder for a padded batch.
public struct AudioEncoderOutput {
    /// The embedding output followed by each Transformer layer's: layers + 1 tensors (B, N, C).
    public var hiddenStates: [Tensor]
    /// (B, N): 1 where a position holds audio, 0 where it is padding (Hugging Face's attention-mask convention).
    public var attentionMask: IntTensor

    public var lastHiddenState: Tensor { hiddenStates[hiddenStates.count - 1] }
}

/// An encoder of normalised feature matrices (TERA/HuBERT-style frames or SSAST/BEATs-style patches).
public protocol AudioEncoder: Module {
    var config: AudioEncoderConfig { get }
    /// features: (B, T, F) normalised, zero-padded after each row's `lengths[b]` frames → every layer's states.
    func callAsFunction(_ features: Tensor, lengths: [Int]) -> AudioEncoderOutput
    /// Feature frames per step along time: the frame stack, or a patch's width.
    var timeUnit: Int { get }
    /// Positions per step along time: 1 for frames, the frequency rows of patches. Position n is at time step
    /// n / frequencyRows.
    var frequencyRows: Int { get }
    /// Values each position reads: frame_stack · F stacked frames, or a patch's pf · pt bins.
    var positionInputSize: Int { get }
}

extension AudioEncoder {
    /// Whether `other` cuts the same positions from the same features (so its per-position outputs, labels or
    /// targets line up with this encoder's): same encoder type, feature dimension and frame stack or patch size.
    public func hasSamePositions(as other: AudioEncoder) -> Bool {
        type(of: self) == type(of: other) && config.featureDimension == other.config.featureDimension
            && timeUnit == other.timeUnit && frequencyRows == other.frequencyRows && positionInputSize == other.positionInputSize
    }
}

/// The Transformer body the encoders share: BERT or Conformer layers that skip padded keys.
/// x: (B, N, C), attentionMask: (B, N) → the embedding and every layer's output.
func transformerStates(_ x: Tensor, layers: [any AudioEncoderLayer], attentionMask: IntTensor) -> [Tensor] {
    var states = [x]
    var h = x
    for layer in layers {
        h = layer(h, attentionMask: attentionMask)
        states.append(h)
    }
    return states
}

/// (B, N) mask with the first `valid[b]` positions of row b set to 1.
func prefixMask(_ valid: [Int], width: Int) -> IntTensor {
    var values = [Int32](repeating: 0, count: valid.count * width)
    for (row, count) in valid.enumerated() {
        for position in 0..<min(count, width) { values[row * width + position] = 1 }
    }
    return IntTensor(values, shape: [valid.count, width])
}
