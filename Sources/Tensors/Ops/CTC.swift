import Foundation

/// How `ctcLoss` combines the utterances' losses.
public enum CTCReduction {
    /// torch's "mean": each loss divided by its target length, then averaged over the batch.
    case mean
    case sum
}

/// Connectionist temporal classification loss (Graves et al., 2006) with log-softmax fused in.
///
/// logits: (B, T, C) unnormalised scores, `logitLengths[b]` ≤ T frames used per utterance; `targets[b]` the
/// label sequence (values in 1..<C; `blank` is excluded). An utterance whose labels cannot fit its frames has
/// infinite loss; it contributes 0 and no gradient (torch's zero_infinity). Same value and gradient as
/// torch.nn.functional.ctc_loss(log_softmax(logits), …) (scripts/make_ctc_fixtures.py).
public func ctcLoss(logits: Tensor, logitLengths: [Int], targets: [[Int32]], blank: Int = 0,
                    reduction: CTCReduction = .mean) -> Tensor {
    precondition(logits.rank == 3, "ctcLoss: logits must be (B, T, C), got \(logits.shape)")
    let (batch, frames, classes) = (logits.shape[0], logits.shape[1], logits.shape[2])
    precondition(logitLengths.count == batch && targets.count == batch,
                 "ctcLoss: \(batch) utterances but \(logitLengths.count) lengths and \(targets.count) targets")
    precondition(logitLengths.allSatisfy { $0 >= 0 && $0 <= frames }, "ctcLoss: a logit length is outside 0...\(frames)")
    for labels in targets {
        precondition(labels.allSatisfy { Int($0) >= 0 && Int($0) < classes && Int($0) != blank },
                     "ctcLoss: labels must be in 0..<\(classes) and not the blank \(blank)")
    }
    // Per utterance: its loss, and d loss / d logits written into `gradient` (zero where unused).
    let gradient = Tensor(zeros: logits.shape)
    var losses = [Double](repeating: 0, count: batch)
    losses.withUnsafeMutableBufferPointer { lossBuffer in
        let lossPointer = lossBuffer.baseAddress!
        parallelFor(batch, grain: 1) { range in
            for b in range {
                let offset = b * frames * classes
                lossPointer[b] = ctcUtterance(logits: logits.data + offset, frames: logitLengths[b], classes: classes,
                                              labels: targets[b], blank: blank, gradient: gradient.data + offset)
            }
        }
    }
    // Scale each utterance's loss and gradient by the reduction.
    var total = 0.0
    for b in 0..<batch {
        let scale = reduction == .mean ? 1 / (Double(max(targets[b].count, 1)) * Double(batch)) : 1
        total += losses[b] * scale
        let row = gradient.data + b * frames * classes
        for i in 0..<(frames * classes) { row[i] = Float(Double(row[i]) * scale) }
    }
    let out = Tensor(scalar: Float(total))
    guard Autograd.needsGradient(logits) else { return out }
    Autograd.record(out) {
        accumulate(gradient.data, into: logits.gradData(), count: logits.count, scale: out.grad!.item)
    }
    return out
}

/// One utterance: −log P(labels | frames) and its gradient with respect to the logits (softmax − occupancy).
/// α and β run in log space over the extended sequence (blank, l1, blank, l2, …, blank) of length S = 2L + 1;
/// α_t(s) includes frame t's emission, β_t(s) excludes it, so P = Σ_s α_t(s)·β_t(s) at every t.
private func ctcUtterance(logits: UnsafePointer<Float>, frames: Int, classes: Int, labels: [Int32], blank: Int,
                          gradient: UnsafeMutablePointer<Float>) -> Double {
    let extended = [blank] + labels.flatMap { [Int($0), blank] }
    let states = extended.count
    // log-softmax of every used frame, in Double for a stable recursion.
    var logProbabilities = [Double](repeating: 0, count: frames * classes)
    for t in 0..<frames {
        let row = logits + t * classes
        var largest = -Double.infinity
        for c in 0..<classes { largest = max(largest, Double(row[c])) }
        var total = 0.0
        for c in 0..<classes { total += Foundation.exp(Double(row[c]) - largest) }
        let normaliser = largest + Foundation.log(total)
        for c in 0..<classes { logProbabilities[t * classes + c] = Double(row[c]) - normaliser }
    }
    // A label repeated back to back needs a blank between its two frames.
    let needed = labels.count + zip(labels, labels.dropFirst()).filter { $0 == $1 }.count
    guard frames > 0, frames >= needed else { return 0 }
    func canSkip(_ s: Int) -> Bool { s >= 2 && extended[s] != blank && extended[s] != extended[s - 2] }

    var alpha = [Double](repeating: -.infinity, count: frames * states)
    alpha[0] = logProbabilities[extended[0]]
    if states > 1 { alpha[1] = logProbabilities[extended[1]] }
    for t in 1..<max(frames, 1) {
        for s in 0..<states {
            var value = alpha[(t - 1) * states + s]
            if s >= 1 { value = logAdd(value, alpha[(t - 1) * states + s - 1]) }
            if canSkip(s) { value = logAdd(value, alpha[(t - 1) * states + s - 2]) }
            alpha[t * states + s] = value + logProbabilities[t * classes + extended[s]]
        }
    }
    var beta = [Double](repeating: -.infinity, count: frames * states)
    beta[(frames - 1) * states + states - 1] = 0
    if states > 1 { beta[(frames - 1) * states + states - 2] = 0 }
    for t in stride(from: frames - 2, through: 0, by: -1) {
        for s in 0..<states {
            var value = beta[(t + 1) * states + s] + logProbabilities[(t + 1) * classes + extended[s]]
            if s + 1 < states {
                value = logAdd(value, beta[(t + 1) * states + s + 1] + logProbabilities[(t + 1) * classes + extended[s + 1]])
            }
            if s + 2 < states && canSkip(s + 2) {
                value = logAdd(value, beta[(t + 1) * states + s + 2] + logProbabilities[(t + 1) * classes + extended[s + 2]])
            }
            beta[t * states + s] = value
        }
    }
    let lastFrame = (frames - 1) * states
    let logLikelihood = states > 1 ? logAdd(alpha[lastFrame + states - 1], alpha[lastFrame + states - 2]) : alpha[lastFrame]
    guard logLikelihood.isFinite else { return 0 }
    // d(−log P)/d logit_t,c = softmax_t,c − Σ_{s: extended[s] = c} α_t(s)·β_t(s) / P.
    var occupancy = [Double](repeating: -.infinity, count: classes)
    for t in 0..<frames {
        for c in 0..<classes { occupancy[c] = -.infinity }
        for s in 0..<states {
            occupancy[extended[s]] = logAdd(occupancy[extended[s]], alpha[t * states + s] + beta[t * states + s])
        }
        for c in 0..<classes {
            gradient[t * classes + c] = Float(Foundation.exp(logProbabilities[t * classes + c])
                - Foundation.exp(occupancy[c] - logLikelihood))
        }
    }
    return -logLikelihood
}

/// log(e^a + e^b) without overflow; −∞ is the identity.
@inline(__always)
private func logAdd(_ a: Double, _ b: Double) -> Double {
    if a == -.infinity { return b }
    if b == -.infinity { return a }
    let high = max(a, b)
    return high + Foundation.log1p(Foundation.exp(min(a, b) - high))
}
