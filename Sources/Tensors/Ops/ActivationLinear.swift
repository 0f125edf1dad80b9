import CDNNLMatmul

/// y = linear(f(x), weight, bias) for an activation f whose derivative needs x alone (GELU in both forms, SiLU,
/// ReLU): a feed-forward block's activation and second product as one op.
///
/// x: (..., In), weight: (Out, In), bias: (Out) → (..., Out).
/// In native bf16 f(x) is written straight into the bf16 operand of the product, a block at a time, so its fp32
/// values never exist: one pass over x where `linear(unary(f, x))` writes f(x), reads it back and converts it; and
/// backward keeps only that bf16 copy (for dW) and x (for f'), as the separate ops keep x, f(x) and the copy. In
/// every other precision it is exactly `linear(unary(kind, x), weight:, bias:)`.
public func activationLinear(_ kind: UnaryKind, _ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    precondition([.geluErf, .geluTanh, .silu, .relu].contains(kind),
                 "activationLinear: \(kind) needs its output for its derivative; use linear(unary(…))")
    guard let native = Matmul.nativeBF16 else { return linear(unary(kind, x), weight: weight, bias: bias) }
    precondition(weight.rank == 2 && x.size(-1) == weight.size(1),
                 "activationLinear: input \(x.shape) does not match weight \(weight.shape)")
    precondition(bias.map { $0.shape == [weight.size(0)] } ?? true,
                 "activationLinear: bias \(bias!.shape) does not match weight \(weight.shape)")
    let outFeatures = weight.size(0), inFeatures = weight.size(1), rows = x.count / max(inFeatures, 1)
    let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures])
    // a16 (rows, In) = bf16(f(x)), through a block of fp32 values that stays in L1
    let activation16 = BFloat16Buffer(count: x.count), a16 = activation16.pointer, px = x.data
    parallelFor(x.count, grain: 1 << 14) { range in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: activationBlock) { block in
            let values = block.baseAddress!
            for start in stride(from: range.lowerBound, to: range.upperBound, by: activationBlock) {
                let count = min(activationBlock, range.upperBound - start)
                forEachVector(count) { offset, lanes in
                    (values + offset).storeVector(unaryVectorValue(kind, (px + start + offset).loadVector(lanes))!, lanes)
                }
                sp_f32_to_bf16(values, a16 + start, Int64(count))
            }
        }
    }
    let w16 = FrozenWeights.bfloat16Copy(of: weight)
    // y (rows, Out) = a16 · W16ᵀ + b
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    let recording = Autograd.needsGradient(inputs)
    linearProductBF16(native, rows: rows, outputs: outFeatures, inputs: inFeatures, x16: a16, w16: w16.pointer, bias: bias,
                      y: out.data, recording: recording)
    guard recording else { return out }
    recordNativeLinearBackward(native, out: out, rows: rows, weight: weight, bias: bias,
                               keptInput: weight.requiresGrad ? activation16 : nil,
                               keptWeight: x.requiresGrad ? w16.buffer : nil) { dY16, w16 in
        // dA (rows, In) = dY · W16, then dX += dA ∘ f'(x)
        let dActivation = Tensor(uninitialized: [rows, inFeatures])
        native.gemmBF16(transA: false, transB: false, m: rows, n: inFeatures, k: outFeatures, a: dY16,
                        lda: outFeatures, b: w16, ldb: inFeatures, c: dActivation.data, ldc: inFeatures)
        let (dX, overwrite) = x.gradDataForWriting(), dA = dActivation.data
        parallelFor(x.count, grain: 1 << 14) { range in
            forEachVector(range.count) { offset, lanes in
                let at = range.lowerBound + offset
                let slope = unaryVectorDerivative(kind, (px + at).loadVector(lanes), FloatVector())!
                let term = (dA + at).loadVector(lanes) * slope
                (dX + at).storeVector(overwrite ? term : (dX + at).loadVector(lanes) + term, lanes)
            }
        }
    }
    return out
}

/// Floats of f(x) made at a time before their conversion to bf16 (4 KiB).
private let activationBlock = 1024
