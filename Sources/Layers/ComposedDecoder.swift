import Foundation
import Tensors

/// Decoders sharing one tokenizer, combined at every step in log-probability space (Mitchell et al. 2024, emulated
/// fine-tuning; its up-scaling: `large_base + β·(small_tuned − small_base)`):
///
///     log p(x_t | x_<t) = log_softmax( Σ_i w_i · log_softmax(logits_i) )
///
/// Each model's logits are normalised first, so a weight scales a distribution, not an arbitrary logit offset; the sum
/// is normalised again, so the result is a distribution whatever the weights. Weights may be negative (the
/// "− small_base" of a difference). Every model keeps its own KV cache, advanced by the same tokens.
public final class ComposedDecoder: NextTokenModel {
    public let models: [GPTModel]
    public let weights: [Float]

    /// Every model must have the same vocabulary (one tokenizer); the composition reads the fewest positions of any.
    /// A model of weight 0 adds nothing and is left out (not run; 0 · log 0 would be NaN), unless every weight is 0.
    public init(models: [GPTModel], weights: [Float]) {
        precondition(!models.isEmpty && models.count == weights.count, "one weight per model")
        precondition(Set(models.map(\.config.vocabSize)).count == 1, "composed models share one vocabulary")
        let weighted = weights.indices.filter { weights[$0] != 0 }
        let kept = weighted.isEmpty ? Array(weights.indices) : weighted
        (self.models, self.weights) = (kept.map { models[$0] }, kept.map { weights[$0] })
    }

    public var contextLength: Int { models.map(\.config.contextLength).min()! }
    public var vocabularySize: Int { models[0].config.vocabSize }

    /// scores: one (…, V) per model → Σ_i w_i log_softmax(scores_i), normalised again (…, V).
    func combine(_ scores: [Tensor]) -> Tensor {
        var total: Tensor?
        for (score, weight) in zip(scores, weights) {
            let term = logSoftmax(score) * weight
            total = total.map { $0 + term } ?? term
        }
        return logSoftmax(total!)
    }

    public func nextTokenScores(tokens: IntTensor, rows: [Int]) -> Tensor {
        combine(models.map { $0.nextTokenScores(tokens: tokens, rows: rows) })          // (N, V)
    }

    /// One KV cache per model.
    final class Caches: DecodingCache {
        let caches: [KVCache]
        init(_ caches: [KVCache]) { self.caches = caches }
        var length: Int { caches[0].length }
        func reset() { caches.forEach { $0.reset() } }
    }

    public func makeDecodingCache() -> DecodingCache { Caches(models.map { $0.makeCache() }) }

    public func nextTokenScores(tokens: IntTensor, cache: DecodingCache) -> Tensor {
        guard let caches = cache as? Caches else { preconditionFailure("a ComposedDecoder decodes from its own caches") }
        precondition(tokens.shape.count == 2 && caches.length + tokens.shape[1] <= contextLength,
                     "\(caches.length) cached + \(tokens.shape) new tokens exceed the composition's context of \(contextLength)")
        return combine(zip(models, caches.caches).map { $0.forward(tokens: tokens, cache: $1) })   // (B, T, V)
    }

    public func inEvaluationMode<R>(_ body: () throws -> R) rethrows -> R {
        let modes = models.map(\.isTraining)
        models.forEach { $0.eval() }
        defer { for (model, mode) in zip(models, modes) { model.train(mode) } }
        return try FrozenWeights.during(models.flatMap(\.parameters)) { try noGrad { try body() } }
    }
}
