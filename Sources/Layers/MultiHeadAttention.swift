import Tensors

/// Multi-head self-attention (Vaswani et al. 2017, §3.2.2) with the projection layouts of the three
/// checkpoint families it loads:
///
/// | layout   | input projections (keys)                             | output key     | bias |
/// |----------|------------------------------------------------------|----------------|------|
/// | `.gpt2`  | `c_attn` (3C, C): rows [0,C) q, [C,2C) k, [2C,3C) v  | `c_proj`       | yes  |
/// | `.llama` | `q_proj`, `k_proj`, `v_proj`                         | `o_proj`       | no   |
/// | `.bert`  | `self.query`, `self.key`, `self.value`               | `output.dense` | yes  |
///
/// Head h uses dims [h·D, (h+1)·D) of each of q, k, v (D = C / heads). x: (B, T, C) → (B, T, C).
public final class MultiHeadAttention: Module {
    public enum Layout { case gpt2, llama, bert }

    public let layout: Layout
    public let heads: Int
    public let headDimension: Int
    /// Each query attends only to keys at its position or before.
    public let causal: Bool
    /// When set, rotary position embedding (Su et al. 2021) with this base rotates q and k.
    public let ropeBase: Float?

    /// `.gpt2` only: q, k and v from one matrix.
    @Key public var fusedProjection: Linear?
    /// `.llama` and `.bert`: separate projections.
    @Key public var queryProjection: Linear?
    @Key public var keyProjection: Linear?
    @Key public var valueProjection: Linear?
    @Key public var outputProjection: Linear
    /// When set, each forward also keeps its pre-softmax scores (B, H, T, T) in `recordedScores`, on the tape, for
    /// attention distillation (the fused kernel never materialises them). Off: nothing extra is computed.
    public var recordsScores = false
    @Buffer public var recordedScores: Tensor? = nil

    public init(dModel: Int, heads: Int, layout: Layout, causal: Bool, ropeBase: Float? = nil,
                generator: inout RandomGenerator) {
        precondition(dModel % heads == 0, "dModel \(dModel) is not divisible by \(heads) heads")
        self.layout = layout
        self.heads = heads
        headDimension = dModel / heads
        self.causal = causal
        self.ropeBase = ropeBase
        let bias = layout != .llama
        func projection(_ outFeatures: Int) -> Linear { Linear(dModel, outFeatures, bias: bias, generator: &generator) }
        // Absent slots stay nil and are never named; their keys are placeholders.
        switch layout {
        case .gpt2:
            _fusedProjection = Key(wrappedValue: projection(3 * dModel), "c_attn")
            _queryProjection = Key(wrappedValue: nil, "q")
            _keyProjection = Key(wrappedValue: nil, "k")
            _valueProjection = Key(wrappedValue: nil, "v")
            _outputProjection = Key(wrappedValue: projection(dModel), "c_proj")
        case .llama, .bert:
            let keys = layout == .llama ? ["q_proj", "k_proj", "v_proj", "o_proj"]
                                        : ["self.query", "self.key", "self.value", "output.dense"]
            _fusedProjection = Key(wrappedValue: nil, "qkv")
            _queryProjection = Key(wrappedValue: projection(dModel), keys[0])
            _keyProjection = Key(wrappedValue: projection(dModel), keys[1])
            _valueProjection = Key(wrappedValue: projection(dModel), keys[2])
            _outputProjection = Key(wrappedValue: projection(dModel), keys[3])
        }
        super.init()
    }

    /// x: (B, T, C) → q, k, v: (B, H, T, D), rotated when the layout uses rotary positions (first token at
    /// `positionOffset`). Shared by the full forward and the KV-cache step. When training, separate projections
    /// run as one product over their weights concatenated at compute time (the checkpoint keeps the three Hugging
    /// Face tensors; the concatenation's backward hands each its rows of the gradient); without a tape they run
    /// apart, which spares copying the weights for every generated token. Packed results are split into heads in
    /// one pass.
    func projectedHeads(_ x: Tensor, positionOffset: Int) -> (q: Tensor, k: Tensor, v: Tensor) {
        var q: Tensor, k: Tensor, v: Tensor
        if let fusedProjection {
            let parts = splitHeads(fusedProjection(x), parts: 3, heads: heads)
            (q, k, v) = (parts[0], parts[1], parts[2])
        } else {
            let projections = [queryProjection!, keyProjection!, valueProjection!]
            if Autograd.needsGradient(projections.flatMap { [$0.weight] + ($0.bias.map { [$0] } ?? []) }) {
                let weight = concat(projections.map(\.weight), axis: 0)                  // (3C, C)
                let bias = projections[0].bias.map { _ in concat(projections.map { $0.bias! }, axis: 0) }
                let parts = splitHeads(linear(x, weight: weight, bias: bias), parts: 3, heads: heads)
                (q, k, v) = (parts[0], parts[1], parts[2])
            } else {
                let parts = projections.map { splitHeads($0(x), parts: 1, heads: heads)[0] }
                (q, k, v) = (parts[0], parts[1], parts[2])
            }
        }
        if let ropeBase {
            q = rotaryEmbedding(q, base: ropeBase, positionOffset: positionOffset)
            k = rotaryEmbedding(k, base: ropeBase, positionOffset: positionOffset)
        }
        return (q, k, v)
    }

    /// x: (B, T, C), keyPadding: (B, T) with 1 = padded key (never attended) → (B, T, C).
    /// `positionOffset` is the position of x's first token (rotary embedding only).
    public func callAsFunction(_ x: Tensor, keyPadding: IntTensor? = nil, positionOffset: Int = 0) -> Tensor {
        precondition(x.rank == 3, "attention input must be (B, T, C), got \(x.shape)")
        let (q, k, v) = projectedHeads(x, positionOffset: positionOffset)
        if recordsScores {
            precondition(keyPadding == nil && positionOffset == 0, "recording attention scores needs a full, unpadded sequence")
            recordedScores = attentionScores(query: q, key: k, causal: causal)
        }
        let attended = scaledDotProductAttention(query: q, key: k, value: v, causal: causal, keyPadding: keyPadding)
        return outputProjection(Tensors.mergeHeads(attended))
    }
}
