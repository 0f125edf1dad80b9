import Foundation
import Layers
import Tensors

/// What the quantiser made of N feature vectors.
public struct GumbelQuantization {
    /// (N, D): each row the concatenation of one chosen codevector per group.
    public var quantized: Tensor
    /// N·G chosen entries (row-major: vector n, group g), for telling identical targets apart.
    public var codes: [Int32]
    /// Σ_g exp(entropy of the batch-averaged softmax over group g's entries): a scalar with gradient, the
    /// diversity loss' input (fairseq's prob_perplexity), between 1 and G·V.
    public var probabilityPerplexity: Tensor
    /// The same of the hard choices' frequencies (fairseq's code_perplexity): how many entries are in use.
    public var codePerplexity: Double
}

/// wav2vec 2.0's product quantiser (Baevski et al. 2020 §2, §3.2; Jang et al. 2016): G codebooks of V entries;
/// a linear layer gives each group's logits, a Gumbel softmax picks one entry per group (hard, straight-through:
/// the forward uses the one-hot choice, the backward the soft probabilities), and the chosen entries are
/// concatenated. In evaluation mode the choice is the argmax of the logits, without noise.
/// Keys (Hugging Face Wav2Vec2GumbelVectorQuantizer): codevectors (1, G·V, D/G), weight_proj (G·V, Cin).
/// x: (N, Cin) → quantized (N, D).
public final class GumbelVectorQuantizer: Module {
    public let groups: Int
    public let entries: Int
    @Key public var codevectors: Tensor
    @Key public var logits: Linear

    public init(inputDimension: Int, groups: Int, entries: Int, codevectorDimension: Int, generator: inout RandomGenerator) {
        precondition(groups >= 1 && entries >= 2 && codevectorDimension % groups == 0,
                     "the quantiser needs ≥ 1 group, ≥ 2 entries and a codevector dimension divisible by the groups")
        self.groups = groups
        self.entries = entries
        // Hugging Face: codevectors uniform in [0, 1), weight_proj N(0, 1) with zero bias.
        _codevectors = Key(wrappedValue: Tensor.uniform([1, groups * entries, codevectorDimension / groups],
                                                        generator: &generator, requiresGrad: true), "codevectors")
        let projection = Linear(inputDimension, groups * entries, generator: &generator)
        Initializer.normal(projection.weight, std: 1, generator: &generator)
        Initializer.zeros(projection.bias!)
        _logits = Key(wrappedValue: projection, "weight_proj")
        super.init()
    }

    /// The annealed Gumbel temperature at update `step`: max(maxT · decay^step, minT) (§4.2: 2 → 0.5, ×0.999995).
    public static func temperature(step: Int, max maxT: Float, min minT: Float, decay: Double) -> Float {
        Swift.max(Float(Double(maxT) * pow(decay, Double(step))), minT)
    }

    /// Gumbel(0, 1) noise −log(−log U) for (N, G·V) logits.
    public func gumbelNoise(rows: Int, generator: inout RandomGenerator) -> Tensor {
        let noise = Tensor(uninitialized: [rows, groups * entries])
        for i in 0..<noise.count {
            let u = max(generator.nextFloat(), Float.leastNormalMagnitude)
            noise.data[i] = -Foundation.log(-Foundation.log(u) + 1e-20)
        }
        return noise
    }

    /// x: (N, Cin). `gumbelNoise` (N, G·V): training mode's noise (nil in evaluation mode, where the argmax of the
    /// logits chooses); given as an input so that tests can fix it.
    public func callAsFunction(_ x: Tensor, temperature: Float, gumbelNoise: Tensor?) -> GumbelQuantization {
        let (n, v, g) = (x.size(0), entries, groups)
        let logits = self.logits(x)                                                             // (N, G·V)
        let rows = logits.reshaped([n * g, v])
        let weights: Tensor                                                                     // (N·G, V)
        var codes = [Int32](repeating: 0, count: n * g)
        if let gumbelNoise {
            precondition(gumbelNoise.shape == [n, g * v], "Gumbel noise \(gumbelNoise.shape) for logits \([n, g * v])")
            let soft = softmax((rows + gumbelNoise.reshaped([n * g, v])) * (1 / temperature))
            let hard = oneHotArgmax(soft, codes: &codes)
            // Straight-through: the value of `hard`, the gradient of `soft`.
            let offset = Tensor(uninitialized: soft.shape)
            for i in 0..<offset.count { offset.data[i] = hard.data[i] - soft.data[i] }
            weights = soft + offset
        } else {
            weights = oneHotArgmax(rows, codes: &codes)
        }
        // Each group's weights (N, V) · its entries (V, D/G), side by side.
        let perGroup = weights.reshaped([n, g, v])
        let table = codevectors.reshaped([g * v, codevectors.size(2)])
        let parts = (0..<g).map { group in
            matmul(slice(perGroup, axis: 1, range: group..<group + 1).reshaped([n, v]),
                   slice(table, axis: 0, range: group * v..<(group + 1) * v))
        }
        let quantized = g == 1 ? parts[0] : concat(parts, axis: 1)
        // Perplexities over the N vectors: softmax without noise (fairseq, Hugging Face), and the hard choices.
        let averaged = mean(softmax(rows).reshaped([n, g, v]), axes: [0])                      // (G, V)
        let entropy = sum(averaged * log(averaged + 1e-7), axes: [1]) * -1                      // (G)
        var counts = [Double](repeating: 0, count: g * v)
        for (index, code) in codes.enumerated() { counts[(index % g) * v + Int(code)] += 1 }
        var codePerplexity = 0.0
        for group in 0..<g {
            let h = (0..<v).reduce(0.0) { total, entry in
                let p = counts[group * v + entry] / Double(max(1, n))
                return total - p * Foundation.log(p + 1e-7)
            }
            codePerplexity += Foundation.exp(h)
        }
        return GumbelQuantization(quantized: quantized, codes: codes, probabilityPerplexity: sum(exp(entropy)),
                                  codePerplexity: codePerplexity)
    }

    /// rows: (R, V) → the one-hot of each row's first maximum (no gradient); its index into `codes`.
    private func oneHotArgmax(_ rows: Tensor, codes: inout [Int32]) -> Tensor {
        let (count, v) = (rows.size(0), rows.size(1))
        let hard = Tensor(zeros: [count, v])
        for row in 0..<count {
            let line = rows.data + row * v
            var best = 0
            for entry in 1..<v where line[entry] > line[best] { best = entry }
            hard.data[row * v + best] = 1
            codes[row] = Int32(best)
        }
        return hard
    }
}

/// The diversity loss (§3.2, eq. 4): (G·V − perplexity) / (G·V), 0 when every entry is used equally on average.
public func codebookDiversityLoss(_ perplexity: Tensor, groups: Int, entries: Int) -> Tensor {
    let total = Float(groups * entries)
    return (perplexity * -1 + total) * (1 / total)
}
