import Foundation
import Tensors

/// Weight-space operations on models of one architecture, tensor by tensor and element by element, in Double and
/// rounded to Float once, so that merging identical models returns them bit for bit and a zero scale returns the
/// base bit for bit. The inputs are state dicts with the same names and shapes (`MergeInputs` checks that).
///
/// - linear: Σ_i w_i θ_i (model soups, Wortsman et al. 2022; weights as given — `CheckpointMerge` normalises them);
/// - task arithmetic (Ilharco et al. 2023): θ_target + Σ_i λ_i (θ_i − θ_base); with the target the base itself this is
///   the paper's; with another target it is residual transfer (Jindal et al. 2024: a continued base plus the
///   instruct − base residual);
/// - TIES (Yadav et al. 2023): each task vector τ_i = θ_i − θ_base trimmed to its `density` largest magnitudes (per
///   tensor, as mergekit does; the paper trims the whole vector), a sign elected per element as the sign of Σ_i τ̂_i,
///   the mean of the τ̂_i that agree with it (zeros excluded), then θ_base + λ·τ_merged.
public enum WeightMerging {
    public static func linear(_ models: [[String: Tensor]], weights: [Double]) -> [String: Tensor] {
        precondition(models.count == weights.count && !models.isEmpty, "one weight per model")
        return map(models[0]) { name in
            let inputs = models.map { $0[name]!.data }
            return { index in
                var sum = 0.0
                for (input, weight) in zip(inputs, weights) { sum += weight * Double(input[index]) }
                return sum
            }
        }
    }

    /// θ_target + Σ_i λ_i (θ_i − θ_base).
    public static func taskArithmetic(target: [String: Tensor], base: [String: Tensor], models: [[String: Tensor]],
                                      scales: [Double]) -> [String: Tensor] {
        precondition(models.count == scales.count, "one scale per model")
        return map(target) { name in
            let (start, origin) = (target[name]!.data, base[name]!.data)
            let inputs = zip(models, scales).filter { $0.1 != 0 }.map { ($0.0[name]!.data, $0.1) }
            return { index in
                var value = Double(start[index])
                for (input, scale) in inputs { value += scale * (Double(input[index]) - Double(origin[index])) }
                return value
            }
        }
    }

    public static func ties(base: [String: Tensor], models: [[String: Tensor]], density: Double, scale: Double) -> [String: Tensor] {
        precondition(density > 0 && density <= 1, "density in (0, 1]")
        var merged: [String: Tensor] = [:]
        for (name, origin) in base {
            let count = origin.count
            // τ̂_i: each model's difference from the base, trimmed to its largest `density` magnitudes.
            let trimmed: [[Double]] = models.map { model in
                let values = model[name]!.data
                var vector = (0..<count).map { Double(values[$0]) - Double(origin.data[$0]) }
                let keep = Int((density * Double(count)).rounded(.up))
                if keep < count {
                    let threshold = vector.map(abs).sorted(by: >)[keep - 1]
                    for i in 0..<count where abs(vector[i]) < threshold { vector[i] = 0 }
                }
                return vector
            }
            let result = Tensor(uninitialized: origin.shape)
            for i in 0..<count {
                let elected = trimmed.reduce(0.0) { $0 + $1[i] }
                var sum = 0.0, agreeing = 0
                for vector in trimmed where vector[i] != 0 && (vector[i] > 0) == (elected > 0) {
                    sum += vector[i]
                    agreeing += 1
                }
                let update = elected == 0 || agreeing == 0 ? 0 : scale * sum / Double(agreeing)
                result.data[i] = Float(Double(origin.data[i]) + update)
            }
            merged[name] = result
        }
        return merged
    }

    /// A new state dict of `template`'s names and shapes: `element(name)` gives tensor `name`'s value at each index.
    static func map(_ template: [String: Tensor], _ element: (String) -> (Int) -> Double) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (name, tensor) in template {
            let out = Tensor(uninitialized: tensor.shape)
            let value = element(name)
            for index in 0..<tensor.count { out.data[index] = Float(value(index)) }
            result[name] = out
        }
        return result
    }
}
