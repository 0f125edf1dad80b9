import Tensors

/// Patch-based audio encoder (SSAST, Gong et al. 2022 §2; AST; BEATs): the spectrogram is cut into
/// pf × pt patches (frequency × time) without overlap, each flattened and embedded by a Linear (the same map as
/// a conv2d with stride = kernel), plus learned positions, then BERT layers with padded patch columns skipped.
///
/// Patch order is time-major: patch n = column · rows + row (rows = F / pf, columns = ⌊T / pt⌋), so a time
/// column is a contiguous run and padding masks whole columns. Patch vector entry i·pt + j is bin row·pf + i of
/// frame column·pt + j. Leftover frames (T mod pt) are dropped.
/// features: (B, T, F) → hidden states (B, rows · columns, C). Keys: patch_embedding, position_embeddings,
/// mask_embedding (the learned vector masked patches are replaced by), LayerNorm, layers.N.
public final class AudioPatchEncoder: Module, AudioEncoder {
    public let config: AudioEncoderConfig
    @Key public var patchEmbedding: Linear
    @Key public var positionTable: Tensor
    @Key public var maskEmbedding: Tensor
    @Key public var norm: LayerNorm
    @Key public var layers: [BertLayer]
    public let dropout: Dropout

    /// Patches per time column.
    public var rows: Int { config.featureDimension / config.patchFrequency }
    public var patchSize: Int { config.patchFrequency * config.patchTime }
    public var timeUnit: Int { config.patchTime }
    public var frequencyRows: Int { rows }
    public var positionInputSize: Int { patchSize }

    public init(_ config: AudioEncoderConfig, generator: inout RandomGenerator) {
        precondition(config.patchFrequency >= 1 && config.featureDimension % config.patchFrequency == 0,
                     "patch height \(config.patchFrequency) must divide the \(config.featureDimension) feature bins")
        precondition(config.patchTime >= 1 && config.maxFrames >= config.patchTime, "patch width must be in 1...maxFrames")
        precondition(config.block == .bert, "patch encoders use BERT layers: a Conformer's convolution needs time-ordered positions")
        self.config = config
        let c = config.hiddenSize
        let positions = (config.featureDimension / config.patchFrequency) * (config.maxFrames / config.patchTime)
        _patchEmbedding = Key(wrappedValue: Linear(config.patchFrequency * config.patchTime, c, generator: &generator),
                              "patch_embedding")
        _positionTable = Key(wrappedValue: Tensor.normal([positions, c], std: 0.02, generator: &generator, requiresGrad: true),
                             "position_embeddings")
        _maskEmbedding = Key(wrappedValue: Tensor.normal([c], std: 0.02, generator: &generator, requiresGrad: true),
                             "mask_embedding")
        _norm = Key(wrappedValue: LayerNorm(c, eps: config.layerNormEps), "LayerNorm")
        _layers = Key(wrappedValue: (0..<config.layers).map { _ in
            BertLayer(dModel: c, heads: config.heads, intermediateSize: config.intermediateSize, eps: config.layerNormEps,
                      dropout: config.dropout, generator: &generator)
        }, "layers")
        dropout = Dropout(config.dropout)
        super.init()
    }

    /// Time columns of patches for rows of `lengths` frames: ⌈length / pt⌉, at most `columns`.
    public func patchColumns(_ lengths: [Int], columns: Int) -> [Int] {
        lengths.map { min(columns, ($0 + config.patchTime - 1) / config.patchTime) }
    }

    /// features: (B, T, F) → patches (B, N, pf·pt) in the order above. A constant: no gradient flows to the features.
    public func patches(_ features: Tensor) -> Tensor {
        let (batch, frames, bins) = (features.size(0), features.size(1), features.size(2))
        precondition(bins == config.featureDimension, "patches of (B, T, \(config.featureDimension)) features, got \(features.shape)")
        let (pf, pt, rows) = (config.patchFrequency, config.patchTime, self.rows)
        let columns = frames / pt
        precondition(columns >= 1, "\(frames) frames hold no patch \(pt) frames wide")
        let out = Tensor(uninitialized: [batch, columns * rows, pf * pt])
        let source = features.data, target = out.data
        for b in 0..<batch {
            for column in 0..<columns {
                for row in 0..<rows {
                    let patch = target + ((b * columns + column) * rows + row) * pf * pt
                    for i in 0..<pf {
                        for j in 0..<pt {
                            patch[i * pt + j] = source[(b * frames + column * pt + j) * bins + row * pf + i]
                        }
                    }
                }
            }
        }
        return out
    }

    public func callAsFunction(_ features: Tensor, lengths: [Int]) -> AudioEncoderOutput {
        encode(patches: patches(features), lengths: lengths, masked: nil)
    }

    /// patches: (B, N, pf·pt) from `patches(_:)`; masked: B·N flags, true where the patch is replaced by the mask
    /// embedding (SSAST's masked patch modelling) → every layer's states (B, N, C).
    public func encode(patches: Tensor, lengths: [Int], masked: [Bool]?) -> AudioEncoderOutput {
        let (batch, count) = (patches.size(0), patches.size(1))
        precondition(lengths.count == batch, "\(lengths.count) lengths for a batch of \(batch)")
        precondition(count % rows == 0 && count <= positionTable.size(0),
                     "\(count) patches do not fit \(rows) rows and the \(positionTable.size(0)) positions")
        var x = patchEmbedding(patches)                                                         // (B, N, C)
        if let masked {
            precondition(masked.count == batch * count, "\(masked.count) mask flags for \(batch)×\(count) patches")
            let m = Tensor(masked.map { $0 ? Float(1) : 0 }, shape: [batch, count, 1])
            let keep = Tensor(masked.map { $0 ? Float(0) : 1 }, shape: [batch, count, 1])
            x = x * keep + m * maskEmbedding                                                    // (B, N, 1) · (C)
        }
        x = dropout(norm(x + slice(positionTable, axis: 0, range: 0..<count)))
        let columns = patchColumns(lengths, columns: count / rows)
        let mask = prefixMask(columns.map { $0 * rows }, width: count)
        return AudioEncoderOutput(hiddenStates: transformerStates(x, layers: layers, attentionMask: mask), attentionMask: mask)
    }
}
