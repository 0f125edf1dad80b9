import Tensors

/// Frame-based audio encoder (TERA, Liu et al. 2021 §3; Mockingjay; HuBERT's Transformer over frames):
///     stack k frames → Linear → + positions → LayerNorm → dropout → BERT layers (padded keys skipped).
/// features: (B, T, F) → hidden states (B, ⌈T/k⌉, C) of the input layer and every Transformer layer.
/// Keys: input_projection, position_embeddings (learned) or position_conv.conv.{weight,bias} (convolutional) or
/// neither (none),
/// mask_embedding (only when made for masked prediction), LayerNorm, layers.N (Hugging Face BertLayer names).
public final class AudioFrameEncoder: Module, AudioEncoder {
    public let config: AudioEncoderConfig
    @Key public var inputProjection: Linear
    @Key public var positionTable: Tensor?
    @Key public var positionConvolution: ConvolutionalPositionEmbedding?
    @Key public var norm: LayerNorm
    @Key public var layers: [any AudioEncoderLayer]
    /// (C): what masked positions become after the input projection (HuBERT's mask_emb); nil unless asked for, so
    /// TERA checkpoints keep their keys.
    @Key public var maskEmbedding: Tensor?
    public let dropout: Dropout
    public var timeUnit: Int { config.frameStack }
    public var frequencyRows: Int { 1 }
    public var positionInputSize: Int { config.frameStack * config.featureDimension }

    public init(_ config: AudioEncoderConfig, maskEmbedding: Bool = false, generator: inout RandomGenerator) {
        precondition(config.frameStack >= 1, "frame stack must be ≥ 1")
        self.config = config
        let c = config.hiddenSize
        _inputProjection = Key(wrappedValue: Linear(config.frameStack * config.featureDimension, c, generator: &generator),
                               "input_projection")
        switch config.positions {
        case .learned:
            let rows = (config.maxFrames + config.frameStack - 1) / config.frameStack
            _positionTable = Key(wrappedValue: Tensor.normal([rows, c], std: 0.02, generator: &generator, requiresGrad: true),
                                 "position_embeddings")
            _positionConvolution = Key(wrappedValue: nil, "position_conv")
        case .convolutional:
            _positionTable = Key(wrappedValue: nil, "position_embeddings")
            _positionConvolution = Key(wrappedValue: ConvolutionalPositionEmbedding(
                channels: c, kernel: config.convolutionKernel, groups: config.convolutionGroups, generator: &generator),
                "position_conv")
        case .none:
            _positionTable = Key(wrappedValue: nil, "position_embeddings")
            _positionConvolution = Key(wrappedValue: nil, "position_conv")
        }
        _norm = Key(wrappedValue: LayerNorm(c, eps: config.layerNormEps), "LayerNorm")
        _layers = Key(wrappedValue: config.makeLayers(generator: &generator), "layers")
        // Drawn last, so an encoder without it initialises exactly as before.
        _maskEmbedding = Key(wrappedValue: maskEmbedding
            ? Tensor.uniform([c], generator: &generator, requiresGrad: true) : nil, "mask_embedding")
        dropout = Dropout(config.dropout)
        super.init()
    }

    /// Positions after stacking for rows of `lengths` frames: ⌈length / k⌉.
    public func stackedLengths(_ lengths: [Int]) -> [Int] {
        lengths.map { ($0 + config.frameStack - 1) / config.frameStack }
    }

    /// features: (B, T, F) → (B, ⌈T/k⌉, k·F): frames t·k ..< (t+1)·k side by side, zero-padded at the end.
    public func stackFrames(_ features: Tensor) -> Tensor {
        let (batch, frames, bins) = (features.size(0), features.size(1), features.size(2))
        let k = config.frameStack
        let padding = (k - frames % k) % k
        let padded = padding == 0 ? features : concat([features, Tensor(zeros: [batch, padding, bins])], axis: 1)
        return padded.reshaped([batch, (frames + padding) / k, k * bins])
    }

    public func callAsFunction(_ features: Tensor, lengths: [Int]) -> AudioEncoderOutput {
        encode(features, lengths: lengths, masked: nil)
    }

    /// masked: B·N flags over the stacked positions (N = ⌈T/k⌉), true where the projected input is replaced by the
    /// mask embedding before positions are added (HuBERT §II-B, fairseq's apply_mask) → every layer's states.
    /// removedKeys: B·N flags, true where a position is left out of every layer's keys and values (and, in a Conformer
    /// layer, of its convolution's input) but still computed as a query (position prediction's masking, Zhai et al.
    /// 2022); each row must keep at least one key.
    public func encode(_ features: Tensor, lengths: [Int], masked: [Bool]?, removedKeys: [Bool]? = nil) -> AudioEncoderOutput {
        precondition(features.rank == 3 && features.size(2) == config.featureDimension,
                     "the frame encoder takes (B, T, \(config.featureDimension)) features, got \(features.shape)")
        precondition(lengths.count == features.size(0), "\(lengths.count) lengths for a batch of \(features.size(0))")
        var x = inputProjection(stackFrames(features))                                         // (B, N, C)
        let positions = x.size(1)
        if let masked {
            guard let maskEmbedding else { preconditionFailure("masking needs an encoder made with maskEmbedding: true") }
            precondition(masked.count == x.size(0) * positions, "\(masked.count) mask flags for \(x.size(0))×\(positions) positions")
            let m = Tensor(masked.map { $0 ? Float(1) : 0 }, shape: [x.size(0), positions, 1])
            let keep = Tensor(masked.map { $0 ? Float(0) : 1 }, shape: [x.size(0), positions, 1])
            x = x * keep + m * maskEmbedding                                                    // (B, N, 1) · (C)
        }
        let mask = prefixMask(stackedLengths(lengths), width: positions)
        if let positionTable {
            precondition(positions <= positionTable.size(0),
                         "\(features.size(1)) frames exceed the \(config.maxFrames) the position table covers")
            x = x + slice(positionTable, axis: 0, range: 0..<positions)                        // + (N, C)
        } else if let positionConvolution {
            x = positionConvolution(x, attentionMask: mask)
        }
        x = dropout(norm(x))
        var keys = mask
        if let removedKeys {
            precondition(removedKeys.count == mask.values.count, "\(removedKeys.count) key flags for \(mask.values.count) positions")
            keys = IntTensor(zip(mask.values, removedKeys).map { $1 ? 0 : $0 }, shape: mask.shape)
        }
        return AudioEncoderOutput(hiddenStates: transformerStates(x, layers: layers, attentionMask: keys), attentionMask: mask)
    }
}
