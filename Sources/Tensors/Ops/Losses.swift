import Foundation

/// Losses reduced to a scalar mean, with torch.nn.functional semantics.
///
/// The cross-entropy kernels fuse log-softmax and the loss: one sweep over each row of logits, saving only
/// the row's log-normaliser (max + log Σ exp), (N) floats. The backward pass rebuilds softmax from it, so no
/// (N, C) log-probability tensor is kept between the passes.

/// Cross-entropy of class logits against integer targets, as F.cross_entropy with reduction "mean".
/// logits: (..., C), targets: (...) (or flat (N)) → scalar.
///
/// Rows whose target is `ignoreIndex` add nothing and are not counted. With label smoothing ε
/// (Szegedy et al. 2016, §7) a row's loss is (1 − ε)·(−log p_target) + ε·mean_c(−log p_c).
/// When every target is ignored the result is 0 and backward adds nothing, where torch returns nan: a batch
/// of pure padding should not poison a running mean of the loss.
public func crossEntropy(_ logits: Tensor, targets: IntTensor, ignoreIndex: Int = -100,
                         labelSmoothing: Float = 0) -> Tensor {
    let (n, c) = classRows(logits, "crossEntropy")
    precondition(targets.shape == Array(logits.shape.dropLast()) || targets.shape == [n],
                 "crossEntropy: targets \(targets.shape) do not match logits \(logits.shape)")
    precondition(labelSmoothing >= 0 && labelSmoothing <= 1, "crossEntropy: label smoothing \(labelSmoothing) outside [0, 1]")
    let logNormalizer = Tensor(uninitialized: [n]), rowLoss = Tensor(uninitialized: [n])
    targets.values.withUnsafeBufferPointer { targetIDs in
        guard n > 0 else { return }
        crossEntropyForward(logits: logits.data, targets: targetIDs.baseAddress!, ignoreIndex: ignoreIndex,
                            labelSmoothing: labelSmoothing, logNormalizer: logNormalizer.data, loss: rowLoss.data,
                            n: n, c: c)
    }
    let counted = targets.values.reduce(0) { $0 + (Int($1) == ignoreIndex ? 0 : 1) }
    let out = Tensor(scalar: counted == 0 ? 0 : Float(sequentialSum(rowLoss.data, n) / Double(counted)))
    guard Autograd.needsGradient(logits) else { return out }
    // Recorded even when nothing is counted, so a training step on pure padding can still call backward.
    Autograd.record(out) {
        guard counted > 0 else { return }
        let scale = out.grad!.item / Float(counted)
        targets.values.withUnsafeBufferPointer { targetIDs in
            crossEntropyBackward(logits: logits.data, targets: targetIDs.baseAddress!, ignoreIndex: ignoreIndex,
                                 labelSmoothing: labelSmoothing, logNormalizer: logNormalizer.data,
                                 dlogits: logits.gradData(), scale: scale, n: n, c: c)
        }
    }
    return out
}

/// Cross-entropy against target distributions, as F.cross_entropy with probability targets:
/// mean over rows of −Σ_c p_c · log softmax(x)_c. logits, probabilities: (..., C) → scalar.
/// Both arguments get gradients when they require them (distillation detaches the teacher; nothing here assumes it).
public func crossEntropy(_ logits: Tensor, probabilities: Tensor) -> Tensor {
    let (n, c) = classRows(logits, "crossEntropy")
    precondition(probabilities.shape == logits.shape,
                 "crossEntropy: probabilities \(probabilities.shape) do not match logits \(logits.shape)")
    let logNormalizer = Tensor(uninitialized: [n]), rowLoss = Tensor(uninitialized: [n])
    softCrossEntropyForward(logits: logits.data, probabilities: probabilities.data,
                            logNormalizer: logNormalizer.data, loss: rowLoss.data, n: n, c: c)
    let out = Tensor(scalar: n == 0 ? 0 : Float(sequentialSum(rowLoss.data, n) / Double(n)))
    guard Autograd.needsGradient(logits, probabilities) else { return out }
    Autograd.record(out) {
        guard n > 0 else { return }
        softCrossEntropyBackward(logits: logits.data, probabilities: probabilities.data,
                                 logNormalizer: logNormalizer.data,
                                 dlogits: logits.requiresGrad ? logits.gradData() : nil,
                                 dprobabilities: probabilities.requiresGrad ? probabilities.gradData() : nil,
                                 scale: out.grad!.item / Float(n), n: n, c: c)
    }
    return out
}

/// Soft-label distillation (Hinton et al., 2015): τ² · KL(softmax(t/τ) ‖ softmax(s/τ)), the mean over rows, as
/// `F.kl_div(F.log_softmax(s/τ), F.softmax(t/τ), reduction="batchmean") · τ²` on (rows, C). The τ² keeps the
/// gradient's size independent of τ. student, teacher: (..., C) → scalar; only the student gets a gradient (the
/// teacher's logits are a constant: a teacher runs forward only).
public func distillationLoss(student: Tensor, teacher: Tensor, temperature: Float) -> Tensor {
    let (n, c) = classRows(student, "distillationLoss")
    precondition(teacher.shape == student.shape, "distillationLoss: teacher \(teacher.shape) does not match student \(student.shape)")
    return temperedKL(student: student, rows: n, classes: c, teacher: teacher, k: c, ids: nil, temperature: temperature, "distillationLoss")
}

/// Soft-label distillation from a teacher's top k (a cached teacher: `pretrain distill cache`): the teacher's
/// distribution is its k most probable tokens, renormalised at temperature τ — q_k = softmax(ℓ_k / τ) over the k
/// log-probabilities ℓ it kept — and the loss is τ² · Σ_k q_k (log q_k − log softmax(s/τ)[i_k]), the mean over rows.
/// student: (N, C) logits; indices: (N, K) token ids in [0, C); logProbabilities: (N, K). Only the student gets a
/// gradient: τ · (softmax(s/τ) − q scattered to its ids) per row, over the mean's N.
public func topKDistillationLoss(student: Tensor, indices: IntTensor, logProbabilities: Tensor, temperature: Float) -> Tensor {
    let (n, c) = classRows(student, "topKDistillationLoss")
    let k = logProbabilities.size(-1)
    precondition(indices.count == n * k && logProbabilities.count == n * k,
                 "topKDistillationLoss: indices \(indices.shape) and log-probabilities \(logProbabilities.shape) must be (\(n), K)")
    precondition(indices.values.allSatisfy { $0 >= 0 && Int($0) < c }, "topKDistillationLoss: a token id is outside 0..<\(c)")
    return temperedKL(student: student, rows: n, classes: c, teacher: logProbabilities, k: k, ids: indices.values,
                      temperature: temperature, "topKDistillationLoss")
}

/// τ² · KL(p ‖ softmax(s/τ)), the mean over rows, where row r's teacher distribution p = softmax(t_r / τ) lives on
/// the k classes `ids[r·k ..< (r+1)·k]`, or on all of them (k = C) when `ids` is nil. student: (N, C); teacher: (N, k).
/// Per row q = softmax(s/τ) and p are kept for backward: d/ds = τ² · (q − p scattered to its ids) / τ, over N.
private func temperedKL(student: Tensor, rows n: Int, classes c: Int, teacher: Tensor, k: Int, ids: [Int32]?,
                        temperature: Float, _ name: String) -> Tensor {
    precondition(temperature > 0 && temperature.isFinite, "\(name): temperature \(temperature) must be positive")
    let rowLoss = Tensor(uninitialized: [n])
    let studentProbabilities = Tensor(uninitialized: student.shape), teacherProbabilities = Tensor(uninitialized: [n, k])
    let ps = student.data, pt = teacher.data, q = studentProbabilities.data, p = teacherProbabilities.data, losses = rowLoss.data
    let inverse = 1 / temperature
    let grain = max(1, (1 << 14) / c)
    withOptionalPointer(n == 0 ? nil : ids) { ids in
        parallelFor(n, grain: grain) { rows in
            for row in rows {
                let s = ps + row * c, t = pt + row * k, qs = q + row * c, tp = p + row * k
                let studentLog = temperedSoftmax(s, count: c, inverse: inverse, into: qs)
                let teacherLog = temperedSoftmax(t, count: k, inverse: inverse, into: tp)
                var kl = 0.0
                for j in 0..<k where tp[j] > 0 {
                    let id = ids.map { Int($0[row * k + j]) } ?? j
                    // log p − log q = (t/τ − log Σ_t) − (s/τ − log Σ_s)
                    kl += Double(tp[j]) * ((Double(t[j] * inverse) - teacherLog) - (Double(s[id] * inverse) - studentLog))
                }
                losses[row] = Float(kl)
            }
        }
    }
    let out = Tensor(scalar: n == 0 ? 0 : Float(Double(temperature * temperature) * sequentialSum(rowLoss.data, n) / Double(n)))
    guard Autograd.needsGradient(student) else { return out }
    Autograd.record(out) {
        guard n > 0 else { return }
        // The closure holds the probability tensors (their storage lives as long as it does).
        let scale = out.grad!.item * temperature / Float(n)
        let ds = student.gradData(), q = studentProbabilities.data, p = teacherProbabilities.data
        withOptionalPointer(n == 0 ? nil : ids) { ids in
            parallelFor(n, grain: grain) { rows in
                for row in rows {
                    let grad = ds + row * c, qs = q + row * c, tp = p + row * k
                    guard let ids else {
                        for j in 0..<c { grad[j] += scale * (qs[j] - tp[j]) }
                        continue
                    }
                    for j in 0..<c { grad[j] += scale * qs[j] }
                    for j in 0..<k { grad[Int(ids[row * k + j])] -= scale * tp[j] }
                }
            }
        }
    }
    return out
}

/// softmax(x / τ) of one row of `count` values into `probabilities`; returns log Σ exp(x / τ), in Double.
@inline(__always)
func temperedSoftmax(_ x: UnsafePointer<Float>, count: Int, inverse: Float, into probabilities: UnsafeMutablePointer<Float>) -> Double {
    var maximum = -Float.infinity
    for j in 0..<count { maximum = max(maximum, x[j] * inverse) }
    var sum = 0.0
    for j in 0..<count {
        probabilities[j] = Foundation.exp(x[j] * inverse - maximum)
        sum += Double(probabilities[j])
    }
    for j in 0..<count { probabilities[j] = Float(Double(probabilities[j]) / sum) }
    return Double(maximum) + Foundation.log(sum)
}

/// Mean squared error, as F.mse_loss: mean((x − target)²). x, target: same shape → scalar.
public func mseLoss(_ x: Tensor, _ target: Tensor) -> Tensor {
    precondition(x.shape == target.shape, "mseLoss: shapes \(x.shape) and \(target.shape) differ")
    let px = x.data, pt = target.data
    let total = blockedSum(x.count) { range in
        var sum = 0.0
        for i in range {
            let d = Double(px[i] - pt[i])
            sum += d * d
        }
        return sum
    }
    let out = Tensor(scalar: Float(total / Double(x.count)))
    guard Autograd.needsGradient(x, target) else { return out }
    Autograd.record(out) {
        mseLossBackward(x: px, target: pt, dx: x.requiresGrad ? x.gradData() : nil,
                        dtarget: target.requiresGrad ? target.gradData() : nil,
                        scale: 2 * out.grad!.item / Float(x.count), count: x.count)
    }
    return out
}

/// Mean absolute error, as F.l1_loss: mean(|x − target|). x, target: same shape → scalar.
/// The gradient at x == target is 0, as torch's sign.
public func l1Loss(_ x: Tensor, _ target: Tensor) -> Tensor {
    precondition(x.shape == target.shape, "l1Loss: shapes \(x.shape) and \(target.shape) differ")
    let px = x.data, pt = target.data
    let total = blockedSum(x.count) { range in
        var sum = 0.0
        for i in range { sum += Double(abs(px[i] - pt[i])) }
        return sum
    }
    let out = Tensor(scalar: Float(total / Double(x.count)))
    guard Autograd.needsGradient(x, target) else { return out }
    Autograd.record(out) {
        l1LossBackward(x: px, target: pt, dx: x.requiresGrad ? x.gradData() : nil,
                       dtarget: target.requiresGrad ? target.gradData() : nil,
                       scale: out.grad!.item / Float(x.count), count: x.count)
    }
    return out
}

// MARK: - Kernels

/// logits: (N, C), targets: (N) → logNormalizer: (N) = max + log Σ exp, loss: (N) per-row loss (0 when ignored).
func crossEntropyForward(logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, ignoreIndex: Int,
                         labelSmoothing: Float, logNormalizer: UnsafeMutablePointer<Float>,
                         loss: UnsafeMutablePointer<Float>, n: Int, c: Int) {
    parallelFor(n, grain: max(1, (1 << 14) / c)) { rows in
        for row in rows {
            let xs = logits + row * c
            let maximum = vectorMax(xs, c)
            let lse = maximum + Foundation.log(vectorSumExp(xs, c, shift: maximum))
            logNormalizer[row] = lse
            let target = Int(targets[row])
            if target == ignoreIndex { loss[row] = 0; continue }
            precondition(target >= 0 && target < c, "crossEntropy: target \(target) in row \(row) outside 0..<\(c)")
            var value = (1 - labelSmoothing) * (lse - xs[target])
            if labelSmoothing > 0 {
                // mean_c(−log p_c) = lse − mean_c(x_c)
                var logitSum: Float = 0
                for j in 0..<c { logitSum += xs[j] }
                value += labelSmoothing * (lse - logitSum / Float(c))
            }
            loss[row] = value
        }
    }
}

/// dlogits: (N, C) += scale · (softmax − (1 − ε)·onehot(target) − ε/C) on counted rows.
func crossEntropyBackward(logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, ignoreIndex: Int,
                          labelSmoothing: Float, logNormalizer: UnsafePointer<Float>,
                          dlogits: UnsafeMutablePointer<Float>, scale: Float, n: Int, c: Int) {
    let uniform = labelSmoothing / Float(c)
    parallelFor(n, grain: max(1, (1 << 14) / c)) { rows in
        for row in rows {
            let target = Int(targets[row])
            if target == ignoreIndex { continue }
            let xs = logits + row * c, dxs = dlogits + row * c
            let lse = logNormalizer[row]
            forEachVector(c) { j, lanes in
                let probability = fastExp((xs + j).loadVector(lanes) - lse)
                (dxs + j).storeVector((dxs + j).loadVector(lanes) + scale * (probability - uniform), lanes)
            }
            dxs[target] -= scale * (1 - labelSmoothing)
        }
    }
}

/// logits, probabilities: (N, C) → logNormalizer: (N), loss: (N) = Σ_c p_c · (lse − x_c).
func softCrossEntropyForward(logits: UnsafePointer<Float>, probabilities: UnsafePointer<Float>,
                             logNormalizer: UnsafeMutablePointer<Float>, loss: UnsafeMutablePointer<Float>,
                             n: Int, c: Int) {
    parallelFor(n, grain: max(1, (1 << 14) / c)) { rows in
        for row in rows {
            let xs = logits + row * c, ps = probabilities + row * c
            let maximum = vectorMax(xs, c)
            let lse = maximum + Foundation.log(vectorSumExp(xs, c, shift: maximum))
            logNormalizer[row] = lse
            var value: Float = 0
            for j in 0..<c { value += ps[j] * (lse - xs[j]) }
            loss[row] = value
        }
    }
}

/// dlogits += scale · (softmax · Σ_c p_c − p); dprobabilities += scale · (lse − x) (= −scale · log p).
/// Σ p is not assumed to be 1.
func softCrossEntropyBackward(logits: UnsafePointer<Float>, probabilities: UnsafePointer<Float>,
                              logNormalizer: UnsafePointer<Float>, dlogits: UnsafeMutablePointer<Float>?,
                              dprobabilities: UnsafeMutablePointer<Float>?, scale: Float, n: Int, c: Int) {
    parallelFor(n, grain: max(1, (1 << 14) / c)) { rows in
        for row in rows {
            let xs = logits + row * c, ps = probabilities + row * c
            let lse = logNormalizer[row]
            if let dlogits {
                let dxs = dlogits + row * c
                var mass: Float = 0
                for j in 0..<c { mass += ps[j] }
                for j in 0..<c { dxs[j] += scale * (Foundation.exp(xs[j] - lse) * mass - ps[j]) }
            }
            if let dprobabilities {
                let dps = dprobabilities + row * c
                for j in 0..<c { dps[j] += scale * (lse - xs[j]) }
            }
        }
    }
}

/// x, target: (count) → dx += scale·(x − target), dtarget −= scale·(x − target). For mse, scale = 2·g/count.
func mseLossBackward(x: UnsafePointer<Float>, target: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                     dtarget: UnsafeMutablePointer<Float>?, scale: Float, count: Int) {
    parallelFor(count, grain: 1 << 15) { range in
        if let dx { for i in range { dx[i] += scale * (x[i] - target[i]) } }
        if let dtarget { for i in range { dtarget[i] -= scale * (x[i] - target[i]) } }
    }
}

/// x, target: (count) → dx += scale·sign(x − target), dtarget −= the same; sign(0) = 0. For l1, scale = g/count.
func l1LossBackward(x: UnsafePointer<Float>, target: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                    dtarget: UnsafeMutablePointer<Float>?, scale: Float, count: Int) {
    parallelFor(count, grain: 1 << 15) { range in
        for i in range {
            let d = x[i] - target[i]
            let g: Float = d > 0 ? scale : (d < 0 ? -scale : 0)
            if let dx { dx[i] += g }
            if let dtarget { dtarget[i] -= g }
        }
    }
}

// MARK: - Helpers

/// (N, C): rows and classes of class-score tensors (..., C).
private func classRows(_ logits: Tensor, _ op: String) -> (n: Int, c: Int) {
    precondition(logits.rank >= 1 && logits.size(-1) > 0, "\(op): logits \(logits.shape) need a non-empty class axis")
    let c = logits.size(-1)
    return (logits.count / c, c)
}

/// Σ values in index order, in Double.
func sequentialSum(_ values: UnsafePointer<Float>, _ count: Int) -> Double {
    var total = 0.0
    for i in 0..<count { total += Double(values[i]) }
    return total
}

/// Σ over 0..<count of `partial(range)`, computed in parallel over fixed blocks of elements and added in
/// block order, so the result does not depend on the thread count.
private func blockedSum(_ count: Int, _ partial: (Range<Int>) -> Double) -> Double {
    let blockSize = 1 << 14
    let blocks = (count + blockSize - 1) / blockSize
    return withUnsafeTemporaryAllocation(of: Double.self, capacity: max(blocks, 1)) { sums in
        parallelFor(blocks, grain: 2) { range in
            for block in range {
                sums[block] = partial(block * blockSize ..< min(count, (block + 1) * blockSize))
            }
        }
        var total = 0.0
        for block in 0..<blocks { total += sums[block] }
        return total
    }
}
