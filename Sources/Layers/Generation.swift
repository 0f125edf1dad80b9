import Foundation
import Tensors

/// Keys and values of every attention layer for the tokens a decoder has seen, so that each new token costs
/// one position's work instead of a pass over the whole prefix. Decoding from a cache records no gradient.
///
/// Per layer: keys (B, H, capacity, D) and values (B, H, capacity, Dv), of which the first `length` positions hold
/// tokens. A new token's rows are written in place; the capacity doubles when it runs out (at least 64
/// positions), so a long generation copies the cache a logarithmic number of times rather than once per token.
public final class KVCache {
    /// Tokens held (the position of the next token).
    public internal(set) var length = 0
    var keys: [Tensor?]
    var values: [Tensor?]

    public init(layers: Int) {
        keys = Array(repeating: nil, count: layers)
        values = Array(repeating: nil, count: layers)
    }

    /// Forgets every token (and the buffers, whose batch may not be the next one's).
    public func reset() {
        length = 0
        for layer in keys.indices { (keys[layer], values[layer]) = (nil, nil) }
    }

    /// Queries at most this long are answered from the cache in place (`cachedCausalAttention`); longer ones (a
    /// prompt) take the fused kernel over a contiguous copy of the keys held, whose tiles pay off over many rows.
    static let inPlaceQueries = 8

    /// Appends k, v: (B, H, T, D) to layer `layer` and returns q's causal attention (B, H, T, Dv) over everything
    /// held for that layer, the T new positions included.
    func attend(layer: Int, query: Tensor, key: Tensor, value: Tensor) -> Tensor {
        precondition(!Autograd.needsGradient(query, key, value),
                     "KV-cache decoding records no gradient: run it under noGrad or inEvaluationMode")
        let total = length + key.size(2)
        let heldKeys = Self.write(key, into: &keys[layer], at: length)
        let heldValues = Self.write(value, into: &values[layer], at: length)
        if query.size(2) <= Self.inPlaceQueries {
            return cachedCausalAttention(query: query, keys: heldKeys, values: heldValues, keyLength: total)
        }
        let allKeys = heldKeys.size(2) == total ? heldKeys : slice(heldKeys, axis: 2, range: 0..<total)
        let allValues = heldValues.size(2) == total ? heldValues : slice(heldValues, axis: 2, range: 0..<total)
        return scaledDotProductAttention(query: query, key: allKeys, value: allValues, causal: true)
    }

    /// rows (B, H, T, D) → written at positions start ..< start + T of `buffer` (B, H, capacity, D), which is made or
    /// grown (doubling, the `start` positions held copied over) when it lacks room; returns the buffer.
    private static func write(_ rows: Tensor, into buffer: inout Tensor?, at start: Int) -> Tensor {
        let (batch, heads, count, width) = (rows.size(0), rows.size(1), rows.size(2), rows.size(3))
        if let held = buffer {
            precondition(held.size(0) == batch && held.size(1) == heads && held.size(3) == width,
                         "KV cache holds (B, H, D) = \(held.shape), the new rows are \(rows.shape)")
        }
        if buffer == nil || buffer!.size(2) < start + count {
            let capacity = max(start + count, 2 * (buffer?.size(2) ?? 0), 64)
            let grown = Tensor(uninitialized: [batch, heads, capacity, width])
            if let held = buffer {
                let old = held.size(2)
                for pair in 0..<batch * heads {
                    (grown.data + pair * capacity * width).update(from: held.data + pair * old * width, count: start * width)
                }
            }
            buffer = grown
        }
        let held = buffer!, capacity = held.size(2)
        for pair in 0..<batch * heads {
            (held.data + (pair * capacity + start) * width).update(from: rows.data + pair * count * width, count: count * width)
        }
        return held
    }
}

extension MultiHeadAttention {
    /// x: (B, T, C), the T tokens that follow the `cache.length` already cached → (B, T, C). Appends their
    /// keys and values to layer `layer` of the cache (in place); rotary positions start at `cache.length`, and the
    /// causal mask aligns the T queries with the last T of the keys.
    func callAsFunction(_ x: Tensor, cache: KVCache, layer: Int) -> Tensor {
        precondition(causal, "a KV cache serves causal attention only")
        let (q, k, v) = projectedHeads(x, positionOffset: cache.length)
        let attended = cache.attend(layer: layer, query: q, key: k, value: v)
        return outputProjection(Tensors.mergeHeads(attended))
    }
}

/// A decoder block that can continue from a KV cache.
protocol CachedDecoderBlock {
    func callAsFunction(_ x: Tensor, cache: KVCache, layer: Int) -> Tensor
}

extension GPT2Block: CachedDecoderBlock {
    func callAsFunction(_ x: Tensor, cache: KVCache, layer: Int) -> Tensor {
        let h = x + residualDropout(attention(attentionNorm(x), cache: cache, layer: layer))
        return h + residualDropout(mlp(mlpNorm(h)))
    }
}

extension LlamaBlock: CachedDecoderBlock {
    func callAsFunction(_ x: Tensor, cache: KVCache, layer: Int) -> Tensor {
        let h = x + residualDropout(attention(attentionNorm(x), cache: cache, layer: layer))
        return h + residualDropout(mlp(mlpNorm(h)))
    }
}

extension GPTModel {
    /// An empty cache for this model.
    public func makeCache() -> KVCache { KVCache(layers: config.layers) }

    /// tokens: (B, T), the tokens at positions cache.length ..< cache.length + T → logits (B, T, V); the cache
    /// then holds them too. Equals the last T rows of `forward(tokens:)` over the whole sequence.
    public func forward(tokens: IntTensor, cache: KVCache) -> Tensor {
        precondition(tokens.shape.count == 2, "tokens must be (B, T), got \(tokens.shape)")
        let start = cache.length, length = tokens.shape[1]
        precondition(start + length <= config.contextLength,
                     "\(start) cached + \(length) new tokens exceed the context of \(config.contextLength)")
        var x = tokenEmbedding(tokens)                                                    // (B, T, C)
        if let positionEmbedding {
            x = x + slice(positionEmbedding.weight, axis: 0, range: start..<start + length)  // + (T, C)
        }
        x = embeddingDropout(x)
        for (layer, block) in blocks.enumerated() {
            guard let block = block as? CachedDecoderBlock else {
                preconditionFailure("\(type(of: block)) cannot decode from a KV cache")
            }
            x = block(x, cache: cache, layer: layer)
        }
        cache.length += length
        x = finalNorm(x)
        return linear(x, weight: lmHead?.weight ?? tokenEmbedding.weight)
    }
}

/// A decoder whose next-token distribution can be read, whole or from a cache: one model (`GPTModel`), or several
/// composed in log-probability space (`ComposedDecoder`). Scores are anything whose softmax over the last axis is the
/// next-token distribution: logits, or log-probabilities.
public protocol NextTokenModel: AnyObject {
    /// Positions the model reads (a composition: the fewest of its models').
    var contextLength: Int { get }
    var vocabularySize: Int { get }
    /// tokens: (B, T) → scores (N, V) at the flat positions `rows` (b·T + t), each the distribution of the token after
    /// position t. No gradient is recorded by the callers; only the rows asked for go through the output projection.
    func nextTokenScores(tokens: IntTensor, rows: [Int]) -> Tensor
    /// An empty cache for `nextTokenScores(tokens:cache:)`.
    func makeDecodingCache() -> DecodingCache
    /// tokens: (B, T) at positions cache.length ..< cache.length + T → scores (B, T, V); the cache then holds them.
    func nextTokenScores(tokens: IntTensor, cache: DecodingCache) -> Tensor
    /// Runs `body` in evaluation mode (no dropout) without recording gradients, and restores the mode. The weights
    /// are frozen for its duration (`FrozenWeights`): each product's bf16 or transposed weight copy is made once.
    func inEvaluationMode<R>(_ body: () throws -> R) rethrows -> R
}

/// What a `NextTokenModel` keeps between calls of incremental decoding.
public protocol DecodingCache: AnyObject {
    /// Tokens held (the position of the next token).
    var length: Int { get }
    /// Forgets every token.
    func reset()
}

extension KVCache: DecodingCache {}

extension GPTModel: NextTokenModel {
    public var contextLength: Int { config.contextLength }
    public var vocabularySize: Int { config.vocabSize }

    public func nextTokenScores(tokens: IntTensor, rows: [Int]) -> Tensor {
        let hidden = hiddenStates(tokens: tokens)                                       // (B, T, C)
        let width = hidden.size(-1)
        let picked = Tensor(uninitialized: [rows.count, width])                          // (N, C)
        for (i, row) in rows.enumerated() { (picked.data + i * width).update(from: hidden.data + row * width, count: width) }
        return linear(picked, weight: outputWeight)                                      // (N, V)
    }

    public func makeDecodingCache() -> DecodingCache { makeCache() }

    public func nextTokenScores(tokens: IntTensor, cache: DecodingCache) -> Tensor {
        guard let cache = cache as? KVCache else { preconditionFailure("a GPTModel decodes from its own KVCache") }
        return forward(tokens: tokens, cache: cache)
    }

    public func inEvaluationMode<R>(_ body: () throws -> R) rethrows -> R {
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        return try FrozenWeights.during(parameters) { try noGrad { try body() } }
    }
}

extension NextTokenModel {
    /// Continues `prompt` by up to `maxTokens` tokens and returns them (the prompt not included).
    ///
    /// The prompt is run once to fill a KV cache, then each new token costs one position. Each token is drawn
    /// from the softmax of the last logits divided by `temperature`, restricted to the `topK` most likely tokens
    /// and then to the smallest set whose probability reaches `topP` (`TokenSampling`); temperature 0 is greedy
    /// (argmax). Generation ends early when `stopToken` is drawn (it is not returned). `banned` ids are never drawn
    /// (their logits are -∞: conditional training's other control tokens).
    ///
    /// Context overflow: a prompt longer than the context keeps its last `contextLength` tokens. When the cache
    /// is full the window slides: the cache is rebuilt from the last contextLength/2 tokens (one recomputation
    /// per contextLength/2 new tokens rather than one per token), so tokens after the first overflow are
    /// predicted from at least half a window of context. Runs in evaluation mode without recording gradients.
    /// The scores are a model's logits, or a composition's normalised log-probabilities (`ComposedDecoder`).
    public func generate(prompt: [Int], maxTokens: Int, temperature: Float = 1, topK: Int? = nil,
                         topP: Float? = nil, generator: inout RandomGenerator, stopToken: Int? = nil,
                         banned: Set<Int> = []) -> [Int] {
        precondition(!prompt.isEmpty, "generation needs a prompt of at least one token (e.g. end-of-text)")
        precondition(maxTokens >= 0, "maxTokens must be non-negative, got \(maxTokens)")
        let contextLength = self.contextLength
        return inEvaluationMode {
            let cache = makeDecodingCache()
            func logitsAfter(_ tokens: [Int]) -> [Float] {
                let logits = nextTokenScores(tokens: IntTensor(tokens, shape: [1, tokens.count]), cache: cache)
                let v = vocabularySize
                var last = Array(UnsafeBufferPointer(start: logits.data + (tokens.count - 1) * v, count: v))
                for id in banned where id < v { last[id] = -.infinity }
                return last
            }
            var context = prompt, generated: [Int] = []
            var logits = logitsAfter(Array(prompt.suffix(contextLength)))
            while generated.count < maxTokens {
                let next = TokenSampling.sample(logits: logits, temperature: temperature, topK: topK, topP: topP,
                                                generator: &generator)
                if next == stopToken { break }
                generated.append(next)
                context.append(next)
                guard generated.count < maxTokens else { break }
                if cache.length == contextLength {
                    cache.reset()
                    logits = logitsAfter(Array(context.suffix(max(1, contextLength / 2))))
                } else {
                    logits = logitsAfter([next])
                }
            }
            return generated
        }
    }
}

/// Turning next-token logits into a token: temperature, top-k (Fan et al. 2018) and nucleus / top-p
/// (Holtzman et al. 2020) filtering.
public enum TokenSampling {
    /// The distribution `sample` draws from: softmax(logits / temperature) over the `topK` largest logits,
    /// then cut to the smallest prefix (by decreasing probability) whose mass reaches `topP`, renormalised.
    /// Filtered tokens get probability 0. Ties are broken towards the lower id. temperature must be > 0.
    public static func distribution(logits: [Float], temperature: Float, topK: Int? = nil,
                                    topP: Float? = nil) -> [Float] {
        precondition(temperature > 0, "temperature must be positive here (0 means greedy: use `sample`)")
        precondition(!logits.isEmpty, "no logits")
        if let topK { precondition(topK > 0, "topK must be positive, got \(topK)") }
        if let topP { precondition(topP > 0 && topP <= 1, "topP must be in (0, 1], got \(topP)") }
        let order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        var kept = topK.map { min($0, order.count) } ?? order.count
        // Softmax over the kept logits, in Double, shifted by the largest.
        let largest = Double(logits[order[0]])
        var weights = order.prefix(kept).map { Foundation.exp((Double(logits[$0]) - largest) / Double(temperature)) }
        var total = weights.reduce(0, +)
        if let topP {
            var mass = 0.0
            for (rank, weight) in weights.enumerated() {
                mass += weight / total
                if mass >= Double(topP) { kept = rank + 1; break }
            }
            weights = Array(weights.prefix(kept))
            total = weights.reduce(0, +)
        }
        var probabilities = [Float](repeating: 0, count: logits.count)
        for (rank, weight) in weights.enumerated() { probabilities[order[rank]] = Float(weight / total) }
        return probabilities
    }

    /// One token id: the argmax when temperature is 0 (lowest id on ties), otherwise a draw from `distribution`
    /// using one `generator.nextFloat()`.
    public static func sample(logits: [Float], temperature: Float, topK: Int? = nil, topP: Float? = nil,
                              generator: inout RandomGenerator) -> Int {
        precondition(temperature >= 0, "temperature must be non-negative, got \(temperature)")
        if temperature == 0 {
            var best = 0
            for i in logits.indices where logits[i] > logits[best] { best = i }
            return best
        }
        let probabilities = distribution(logits: logits, temperature: temperature, topK: topK, topP: topP)
        let u = generator.nextFloat()
        var cumulative: Float = 0, last = 0
        for (id, p) in probabilities.enumerated() where p > 0 {
            cumulative += p
            last = id
            if u < cumulative { return id }
        }
        return last    // rounding left the cumulative sum just below u
    }
}
