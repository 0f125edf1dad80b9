/// Matrix products through the active `MatmulBackend`.
///
/// a: (M, K) · b: (K, N) → (M, N); with `transposeA` a is stored (K, M), with `transposeB` b is (N, K).
/// Batched: a (..., M, K) · b (..., K, N) with equal leading dims, or b 2-D shared by every batch entry.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank ≥ 2, got \(a.shape) and \(b.shape)")
    let m = transposeA ? a.size(-1) : a.size(-2)
    let kA = transposeA ? a.size(-2) : a.size(-1)
    let kB = transposeB ? b.size(-1) : b.size(-2)
    let n = transposeB ? b.size(-2) : b.size(-1)
    precondition(kA == kB, "matmul inner sizes differ: \(a.shape) · \(b.shape) (transposeA \(transposeA), transposeB \(transposeB))")
    let k = kA
    let batchDims = Array(a.shape.dropLast(2))
    let batch = batchDims.reduce(1, *)
    let sharedB = b.rank == 2
    precondition(sharedB || Array(b.shape.dropLast(2)) == batchDims,
                 "matmul batch dims differ: \(a.shape) · \(b.shape)")
    let out = Tensor(uninitialized: batchDims + [m, n])
    let backend = Matmul.backend
    let lda = a.size(-1), ldb = b.size(-1)

    if sharedB && !transposeA {
        // Fold the batch into rows: one large GEMM.
        backend.gemm(transA: false, transB: transposeB, m: batch * m, n: n, k: k, alpha: 1,
                     a: a.data, lda: lda, b: b.data, ldb: ldb, beta: 0, c: out.data, ldc: n)
    } else {
        backend.batchedGemm(transA: transposeA, transB: transposeB, batch: batch, m: m, n: n, k: k, alpha: 1,
                            a: a.data, lda: lda, strideA: m * k, b: b.data, ldb: ldb, strideB: sharedB ? 0 : k * n,
                            beta: 0, c: out.data, ldc: n, strideC: m * n)
    }
    guard Autograd.needsGradient(a, b) else { return out }
    Autograd.record(out) {
        matmulBackward(a, b, out: out, transposeA: transposeA, transposeB: transposeB,
                       batch: batch, m: m, n: n, k: k, sharedB: sharedB)
    }
    return out
}

/// dA += dC · op(B)ᵀ (laid out as A is); dB += op(A)ᵀ · dC (laid out as B is).
func matmulBackward(_ a: Tensor, _ b: Tensor, out: Tensor, transposeA: Bool, transposeB: Bool,
                    batch: Int, m: Int, n: Int, k: Int, sharedB: Bool) {
    let backend = Matmul.backend
    let dC = out.grad!.data
    let lda = a.size(-1), ldb = b.size(-1)
    if a.requiresGrad {
        let dA = a.gradData()
        if sharedB && !transposeA {
            // dA (batch·M, K) += dC (batch·M, N) · op(B)ᵀ
            backend.gemm(transA: false, transB: !transposeB, m: batch * m, n: k, k: n, alpha: 1,
                         a: dC, lda: n, b: b.data, ldb: ldb, beta: 1, c: dA, ldc: lda)
        } else if !transposeA {
            backend.batchedGemm(transA: false, transB: !transposeB, batch: batch, m: m, n: k, k: n, alpha: 1,
                                a: dC, lda: n, strideA: m * n, b: b.data, ldb: ldb, strideB: sharedB ? 0 : k * n,
                                beta: 1, c: dA, ldc: lda, strideC: m * k)
        } else {
            // A stored (K, M): dA = op(B) · dCᵀ, i.e. (K, N) · (N, M).
            backend.batchedGemm(transA: transposeB, transB: true, batch: batch, m: k, n: m, k: n, alpha: 1,
                                a: b.data, lda: ldb, strideA: sharedB ? 0 : k * n, b: dC, ldb: n, strideB: m * n,
                                beta: 1, c: dA, ldc: lda, strideC: m * k)
        }
    }
    if b.requiresGrad {
        let dB = b.gradData()
        if sharedB && !transposeA {
            if !transposeB {
                // dB (K, N) += Aᵀ (K, batch·M) · dC (batch·M, N)
                backend.gemm(transA: true, transB: false, m: k, n: n, k: batch * m, alpha: 1,
                             a: a.data, lda: lda, b: dC, ldb: n, beta: 1, c: dB, ldc: ldb)
            } else {
                // dB (N, K) += dCᵀ (N, batch·M) · A (batch·M, K)
                backend.gemm(transA: true, transB: false, m: n, n: k, k: batch * m, alpha: 1,
                             a: dC, lda: n, b: a.data, ldb: lda, beta: 1, c: dB, ldc: ldb)
            }
        } else {
            // Per batch entry; a shared B sums the entries (beta 1 accumulates).
            let strideB = sharedB ? 0 : k * n
            for index in 0..<batch {
                let aEntry = a.data + index * m * k
                let dCEntry = dC + index * m * n
                let dBEntry = dB + index * strideB
                if !transposeB {
                    // dB (K, N) += op(A)ᵀ · dC
                    backend.gemm(transA: !transposeA, transB: false, m: k, n: n, k: m, alpha: 1,
                                 a: aEntry, lda: lda, b: dCEntry, ldb: n, beta: 1, c: dBEntry, ldc: ldb)
                } else {
                    // dB (N, K) += dCᵀ · op(A)
                    backend.gemm(transA: true, transB: transposeA, m: n, n: k, k: m, alpha: 1,
                                 a: dCEntry, lda: n, b: aEntry, ldb: lda, beta: 1, c: dBEntry, ldc: ldb)
                }
            }
        }
    }
}

/// y = x · Wᵀ + b, as torch.nn.functional.linear. x: (..., In), weight: (Out, In), bias: (Out) → (..., Out).
/// In native bf16 each operand is converted once: x and W in forward (kept for backward), dY once for both
/// backward products.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    precondition(weight.rank == 2 && x.size(-1) == weight.size(1),
                 "linear: input \(x.shape) does not match weight \(weight.shape)")
    let outFeatures = weight.size(0), inFeatures = weight.size(1)
    let rows = x.count / max(inFeatures, 1)
    let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures])
    precondition(bias.map { $0.shape == [outFeatures] } ?? true, "linear: bias \(bias!.shape) does not match weight \(weight.shape)")
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    let recording = Autograd.needsGradient(inputs)
    if let native = Matmul.nativeBF16 {
        let x16 = BFloat16Copy(x.data, count: x.count), w16 = FrozenWeights.bfloat16Copy(of: weight)
        // y (rows, Out) = x (rows, In) · Wᵀ + b
        linearProductBF16(native, rows: rows, outputs: outFeatures, inputs: inFeatures, x16: x16.pointer, w16: w16.pointer,
                          bias: bias, y: out.data, recording: recording)
        guard recording else { return out }
        recordNativeLinearBackward(native, out: out, rows: rows, weight: weight, bias: bias,
                                   keptInput: weight.requiresGrad ? x16.buffer : nil,
                                   keptWeight: x.requiresGrad ? w16.buffer : nil) { dY16, w16 in
            // dX (rows, In) += dY (rows, Out) · W (Out, In); stored when dX has no gradient yet
            let (dX, overwrite) = x.gradDataForWriting()
            native.gemmBF16(transA: false, transB: false, m: rows, n: inFeatures, k: outFeatures, a: dY16,
                            lda: outFeatures, b: w16, ldb: inFeatures, beta: overwrite ? 0 : 1, c: dX, ldc: inFeatures)
        }
        return out
    }
    if let bias { for row in 0..<rows { (out.data + row * outFeatures).update(from: bias.data, count: outFeatures) } }
    let backend = Matmul.backend
    if backend.prefersTransposedWeight(rows: rows, inputs: inFeatures, outputs: outFeatures) {
        // y (rows, Out) = x (rows, In) · Wᵀ, with Wᵀ (In, Out) copied out first (a pooled buffer; once per scope
        // for a frozen weight)
        let transposedWeight = FrozenWeights.transposedCopy(of: weight)
        backend.gemm(transA: false, transB: false, m: rows, n: outFeatures, k: inFeatures, alpha: 1,
                     a: x.data, lda: inFeatures, b: transposedWeight.data, ldb: outFeatures,
                     beta: bias == nil ? 0 : 1, c: out.data, ldc: outFeatures)
    } else {
        backend.gemm(transA: false, transB: true, m: rows, n: outFeatures, k: inFeatures, alpha: 1,
                     a: x.data, lda: inFeatures, b: weight.data, ldb: inFeatures,
                     beta: bias == nil ? 0 : 1, c: out.data, ldc: outFeatures)
    }
    guard recording else { return out }
    Autograd.record(out) {
        let dY = out.grad!.data
        let backend = Matmul.backend
        if x.requiresGrad {
            // dX (rows, In) += dY (rows, Out) · W (Out, In); stored when dX has no gradient yet
            let (dX, overwrite) = x.gradDataForWriting()
            backend.gemm(transA: false, transB: false, m: rows, n: inFeatures, k: outFeatures, alpha: 1,
                         a: dY, lda: outFeatures, b: weight.data, ldb: inFeatures, beta: overwrite ? 0 : 1, c: dX,
                         ldc: inFeatures)
        }
        if weight.requiresGrad {
            // dW (Out, In) += dYᵀ (Out, rows) · X (rows, In)
            backend.gemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: rows, alpha: 1,
                         a: dY, lda: outFeatures, b: x.data, ldb: inFeatures, beta: 1, c: weight.gradData(), ldc: inFeatures)
        }
        if let bias, bias.requiresGrad { accumulateRows(dY, rows: rows, columns: outFeatures, into: bias.gradData()) }
    }
    return out
}

/// Records on `out` the backward of a native bf16 product out (rows, Out) = a16 (rows, In) · W16ᵀ + b (`linear`,
/// `activationLinear`): dY is converted once; `inputGradient(dY16, W16)` runs when the weight's copy is kept (the
/// input needs a gradient), dW += dYᵀ · a16 when the input's copy is kept (the weight needs one), and the bias gets
/// dY's row sums.
func recordNativeLinearBackward(_ native: OneDNNBackend, out: Tensor, rows: Int, weight: Tensor, bias: Tensor?,
                                keptInput: BFloat16Buffer?, keptWeight: BFloat16Buffer?,
                                inputGradient: @escaping (_ dY16: UnsafeMutablePointer<UInt16>,
                                                          _ w16: UnsafeMutablePointer<UInt16>) -> Void) {
    let outFeatures = weight.size(0), inFeatures = weight.size(1)
    Autograd.record(out) {
        let dY = BFloat16Copy(out.grad!.data, count: out.count)
        if let keptWeight { inputGradient(dY.pointer, keptWeight.pointer) }
        if let keptInput {
            // dW (Out, In) += dYᵀ (Out, rows) · a16 (rows, In)
            native.gemmBF16(transA: true, transB: false, m: outFeatures, n: inFeatures, k: rows, a: dY.pointer,
                            lda: outFeatures, b: keptInput.pointer, ldb: inFeatures, beta: 1, c: weight.gradData(),
                            ldc: inFeatures)
        }
        if let bias, bias.requiresGrad { accumulateRows(out.grad!.data, rows: rows, columns: outFeatures, into: bias.gradData()) }
    }
}

/// sums[j] += Σ_row values[row, j]: a bias's gradient.
func accumulateRows(_ values: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>) {
    for row in 0..<rows {
        let source = values + row * columns
        for j in 0..<columns { sums[j] += source[j] }
    }
}
