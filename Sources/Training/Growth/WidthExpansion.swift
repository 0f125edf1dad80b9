import Layers
import Tensors

/// Fills a grown model's parameters from the old model's, tensor by tensor, through the unit maps of its three
/// widths (bert2BERT §3.1). A linear layer whose inputs are copies (by `columns`) of the old inputs produces copies
/// (by `rows`) of the old outputs when
///
///     W'[o, j] = W[rows(o), columns(j)] / copies(columns(j))        b'[o] = b[rows(o)]
///
/// since the copies of input i together contribute W[·, i]·x_i once. Every layer writing into the residual stream
/// therefore writes its copies, and the grown model computes copies of the old activations everywhere.
///
/// AKI (§3.2): an added output unit (rows.added) takes its incoming weights from `knowledge`, the same tensor of
/// the layer above, instead of `source`; FPI passes the source itself as its knowledge.
final class WidthExpansion {
    /// d_model units.
    let residual: UnitMap
    /// The heads·head_dim units of q, k and v, whole heads at a time.
    let attention: UnitMap
    /// The feed-forward hidden units.
    let mlp: UnitMap
    /// The target tensors written so far: every parameter of the grown model must be.
    private(set) var filled = Set<ObjectIdentifier>()

    init(residual: UnitMap, attention: UnitMap, mlp: UnitMap) {
        (self.residual, self.attention, self.mlp) = (residual, attention, mlp)
    }

    /// Draws the maps old → new sizes from one seeded stream: residual units, then heads, then MLP units.
    convenience init(from old: ModelSection, to new: ModelSection, seed: UInt64) {
        var generator = RandomGenerator(seed: seed)
        let residual = UnitMap.balanced(from: old.dModel, to: new.dModel, generator: &generator)
        let heads = UnitMap.balanced(from: old.heads, to: new.heads, generator: &generator)
        let mlp = UnitMap.balanced(from: old.feedForwardWidth, to: new.feedForwardWidth, generator: &generator)
        self.init(residual: residual, attention: heads.expandingHeads(dimension: old.dModel / old.heads), mlp: mlp)
    }

    /// weight (out, in), bias (out): the rule above.
    func linear(_ target: Linear, from source: Linear, knowledge: Linear, rows: UnitMap, columns: UnitMap) {
        precondition(target.weight.shape == [rows.count, columns.count] && source.weight.shape == [rows.oldCount, columns.oldCount],
                     "linear \(source.weight.shape) → \(target.weight.shape) does not fit maps \(rows.oldCount)×\(columns.oldCount) → \(rows.count)×\(columns.count)")
        let (out, old) = (target.weight.data, source.weight.shape[1])
        for o in 0..<rows.count {
            let from = (rows.added[o] ? knowledge : source).weight.data + rows.source[o] * old
            for j in 0..<columns.count {
                let i = columns.source[j]
                out[o * columns.count + j] = from[i] / Float(columns.copies[i])
            }
        }
        markFilled(target.weight)
        if let bias = target.bias { vector(bias, from: source.bias!, knowledge: knowledge.bias!, units: rows) }
    }

    /// v'[j] = v[units(j)], divided by its copy count when `dividedByCopies` (a tied output's final norm).
    func vector(_ target: Tensor, from source: Tensor, knowledge: Tensor, units: UnitMap, dividedByCopies: Bool = false) {
        precondition(target.shape == [units.count] && source.shape == [units.oldCount],
                     "vector \(source.shape) → \(target.shape) does not fit map \(units.oldCount) → \(units.count)")
        for j in 0..<units.count {
            let i = units.source[j]
            let value = (units.added[j] ? knowledge : source).data[i]
            target.data[j] = dividedByCopies ? value / Float(units.copies[i]) : value
        }
        markFilled(target)
    }

    /// A norm over the residual stream (LayerNorm or RMSNorm): weight and bias copied. Over copies with equal
    /// counts the mean and variance (mean square) are the old ones, so the output is the copies of the old output.
    func norm(_ target: Module, from source: Module, knowledge: Module, dividedByCopies: Bool = false) {
        switch (target, source, knowledge) {
        case let (target as LayerNorm, source as LayerNorm, knowledge as LayerNorm):
            vector(target.weight, from: source.weight, knowledge: knowledge.weight, units: residual, dividedByCopies: dividedByCopies)
            if let bias = target.bias {
                vector(bias, from: source.bias!, knowledge: knowledge.bias!, units: residual, dividedByCopies: dividedByCopies)
            }
        case let (target as RMSNorm, source as RMSNorm, knowledge as RMSNorm):
            vector(target.weight, from: source.weight, knowledge: knowledge.weight, units: residual, dividedByCopies: dividedByCopies)
        default:
            preconditionFailure("norms \(type(of: source)) → \(type(of: target)) differ in kind")
        }
    }

    /// Embedding (N, C): the rows kept, the residual columns copied (its output is the stream's copies).
    func embedding(_ target: Embedding, from source: Embedding) {
        precondition(target.count == source.count, "embedding of \(source.count) rows grown to \(target.count)")
        let (old, new) = (source.dimension, target.dimension)
        for row in 0..<target.count {
            for j in 0..<new { target.weight.data[row * new + j] = source.weight.data[row * old + residual.source[j]] }
        }
        markFilled(target.weight)
    }

    /// q, k, v copy whole heads (the head dimension is kept, so each new head attends exactly as its old one);
    /// the output projection divides by the head copies.
    func attention(_ target: MultiHeadAttention, from source: MultiHeadAttention, knowledge: MultiHeadAttention) {
        if let fused = target.fusedProjection {
            linear(fused, from: source.fusedProjection!, knowledge: knowledge.fusedProjection!,
                   rows: .concatenated([attention, attention, attention]), columns: residual)
        } else {
            for path in [\MultiHeadAttention.queryProjection, \.keyProjection, \.valueProjection] {
                linear(target[keyPath: path]!, from: source[keyPath: path]!, knowledge: knowledge[keyPath: path]!,
                       rows: attention, columns: residual)
            }
        }
        linear(target.outputProjection, from: source.outputProjection, knowledge: knowledge.outputProjection,
               rows: residual, columns: attention)
    }

    /// The grown model's parameters that nothing has written (empty once growth is complete).
    func unfilled(in model: Module) -> [String] {
        model.namedParameters().filter { !filled.contains(ObjectIdentifier($0.tensor)) }.map(\.name)
    }

    func markFilled(_ tensor: Tensor) { filled.insert(ObjectIdentifier(tensor)) }
}
