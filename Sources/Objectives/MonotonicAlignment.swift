import Foundation

/// Monotonic alignment search (Kim et al. 2020, Glow-TTS §2.3, Algorithm 1): the path through a (T, P) matrix of
/// log-probabilities that starts at (0, 0), ends at (T − 1, P − 1), and at each frame stays on its phoneme or moves to
/// the next, with the largest sum. The path's count of frames per phoneme are the phonemes' durations (each ≥ 1).
/// Ties go to staying on the phoneme, as Glow-TTS's `maximum_path` breaks them. Needs T ≥ P.
public enum MonotonicAlignment {
    /// logProbabilities: (T, P) row-major, T = `frames`, P = `phonemes` → P durations summing to T.
    public static func durations(_ logProbabilities: UnsafePointer<Float>, frames: Int, phonemes: Int,
                                 rowStride: Int? = nil) -> [Int] {
        precondition(phonemes >= 1 && frames >= phonemes,
                     "monotonic alignment needs at least as many frames (\(frames)) as phonemes (\(phonemes))")
        let rowStep = rowStride ?? phonemes
        // value[t][p]: the best sum of a path ending at (t, p); only cells a full path can pass hold values.
        var value = [Double](repeating: -.infinity, count: frames * phonemes)
        value[0] = Double(logProbabilities[0])
        for t in 1..<max(frames, 1) {
            let lowest = max(0, phonemes - (frames - t)), highest = min(phonemes - 1, t)
            guard lowest <= highest else { continue }
            for p in lowest...highest {
                let stay = value[(t - 1) * phonemes + p]
                let advance = p > 0 ? value[(t - 1) * phonemes + p - 1] : -.infinity
                value[t * phonemes + p] = max(stay, advance) + Double(logProbabilities[t * rowStep + p])
            }
        }
        var durations = [Int](repeating: 0, count: phonemes)
        var p = phonemes - 1
        for t in stride(from: frames - 1, through: 0, by: -1) {
            durations[p] += 1
            if t > 0 && p > 0 && (p == t || value[(t - 1) * phonemes + p - 1] > value[(t - 1) * phonemes + p]) {
                p -= 1
            }
        }
        return durations
    }

    /// The (T, P) static alignment prior of Badlani et al. 2022: frame t's distribution over phonemes is the
    /// beta-binomial pmf(p; n = P, α = s·t, β = s·(T + 1 − t)), t = 1…T, p = 0…P − 1, which puts frame t near phoneme
    /// P·t/T. `scaling` is s (1 in the paper). Returned as log(prior + 1e-8), row-major.
    public static func logBetaBinomialPrior(frames: Int, phonemes: Int, scaling: Double = 1) -> [Float] {
        let n = Double(phonemes)
        func logBeta(_ a: Double, _ b: Double) -> Double { lgamma(a) + lgamma(b) - lgamma(a + b) }
        var prior = [Float](repeating: 0, count: frames * phonemes)
        for t in 0..<frames {
            let alpha = scaling * Double(t + 1), beta = scaling * Double(frames - t)
            for p in 0..<phonemes {
                let k = Double(p)
                let logChoose = lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)
                let pmf = exp(logChoose + logBeta(k + alpha, n - k + beta) - logBeta(alpha, beta))
                prior[t * phonemes + p] = Float(log(pmf + 1e-8))
            }
        }
        return prior
    }
}
