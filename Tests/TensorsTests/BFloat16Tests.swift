import CDNNLMatmul
import Tensors
import TestSupport
import XCTest

/// bf16 mixed precision: rounding to the nearest bf16 value, products with bf16 operands, and the fallback
/// when the CPU has no bf16 instructions.
final class BFloat16Tests: XCTestCase {
    override func tearDown() { Matmul.setPrecision(.fp32) }

    /// Each value becomes a bf16 value (low 16 bits zero), the nearer of its two bf16 neighbours, ties to even.
    func testRoundingPicksTheNearestBFloat16TiesToEven() {
        var generator = RandomGenerator(seed: 5)
        var values = (0..<1000).map { _ in generator.nextNormal() * 10 }
        // Exact ties: 1 + 2⁻⁸ lies halfway between 1 and 1 + 2⁻⁷ (rounds down to the even 1.0);
        // 1 + 3·2⁻⁸ halfway between 1 + 2⁻⁷ and 1 + 2⁻⁶ (rounds up to the even one).
        values += [1 + 0x1p-8, 1 + 3 * 0x1p-8, -(1 + 0x1p-8), 0, 1, .infinity, -.infinity]
        var rounded = [Float](repeating: .nan, count: values.count)
        roundToBFloat16(values, &rounded, count: values.count)
        for (value, result) in zip(values, rounded) {
            XCTAssertEqual(result.bitPattern & 0xFFFF, 0, "\(value) → \(result) is not a bf16 value")
            guard value.isFinite else { XCTAssertEqual(result, value); continue }
            let below = Float(bitPattern: value.bitPattern & 0xFFFF_0000)
            let above = Float(bitPattern: (value.bitPattern & 0xFFFF_0000) + 0x1_0000)
            let nearest = abs(value - below) < abs(above - value) ? below
                : abs(value - below) > abs(above - value) ? above
                : ((below.bitPattern >> 16) & 1 == 0 ? below : above)
            XCTAssertEqual(result, nearest, "\(value)")
        }
        XCTAssertEqual(rounded[1000], 1)
        XCTAssertEqual(rounded[1001], 1 + 0x1p-6)
        XCTAssertEqual(rounded[1002], -1)
    }

    /// bf16-emulated products equal fp32 products of rounded operands, in forward and backward, and stay within
    /// bf16's relative precision of the fp32 ones.
    func testEmulatedProductsUseRoundedOperandsForwardAndBackward() {
        var generator = RandomGenerator(seed: 9)
        let x = Tensor.normal([5, 24], generator: &generator, requiresGrad: true)
        let w = Tensor.normal([7, 24], generator: &generator, requiresGrad: true)
        let fp32 = linear(x, weight: w)
        let roundedX = rounded(x), roundedW = rounded(w)
        let expected = noGrad { linear(roundedX, weight: roundedW) }
        Autograd.discardTape()

        let choice = Matmul.setPrecision(.bf16Emulated)
        XCTAssertEqual(choice.precision, .bf16Emulated)
        let y = linear(x, weight: w)
        assertClose(y, expected, atol: 1e-5, rtol: 1e-5, "forward uses rounded operands")
        assertClose(y, fp32, atol: 0.1, rtol: 2e-2, "bf16 stays near fp32")
        XCTAssertNotEqual(y.scalars, fp32.scalars, "rounding changed something")
        // dX = dY · W with dY = ones: the sum of rounded columns of W.
        sum(y).backward()
        for column in 0..<24 {
            let expectedGrad = (0..<7).reduce(Float(0)) { $0 + roundedW.data[$1 * 24 + column] }
            XCTAssertEqual(x.grad!.data[column], expectedGrad, accuracy: 1e-4, "dX column \(column)")
        }
    }

    /// bf16 runs natively where oneDNN has a bf16 kernel and the CPU has AMX or AVX512-BF16; elsewhere it falls
    /// back to fp32 and says so. Either way products keep working.
    func testBFloat16RunsNativelyOrFallsBackToFP32WithAMessage() {
        let choice = Matmul.setPrecision(.bf16)
        var generator = RandomGenerator(seed: 2)
        let a = Tensor.normal([16, 32], generator: &generator), b = Tensor.normal([32, 8], generator: &generator)
        let product = matmul(a, b)
        if choice.precision == .bf16 {
            let expected = matmul(rounded(a), rounded(b))
            assertClose(product, expected, atol: 1e-4, rtol: 1e-4, "native bf16 = fp32 product of rounded operands")
        } else {
            XCTAssertEqual(choice.precision, .fp32)
            XCTAssertTrue(choice.message.contains("training in fp32"), choice.message)
            Matmul.setPrecision(.fp32)
            assertClose(product, matmul(a, b), atol: 0, rtol: 0, "the fallback is plain fp32")
        }
        XCTAssertEqual(Matmul.setPrecision(.fp32).precision, .fp32)
        XCTAssertEqual(Matmul.precision, .fp32)
    }

    /// The conversion the native path uses (AVX512-BF16's instruction or AVX-512 integer rounding, whichever the CPU
    /// has) gives the portable loop's bits for every value but denormals, which the instruction turns into ±0.
    /// Random bit patterns cover every exponent, NaN payloads and infinities; odd lengths cover the tails.
    func testFastConversionGivesThePortableBits() {
        var generator = RandomGenerator(seed: 11)
        var bits = (0..<100_003).map { _ in UInt32(truncatingIfNeeded: generator.next()) }
        bits += [0x3F80_8000, 0x3F81_8000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0001, 0x7F80_0001, 0xFFFF_FFFF,
                 0x7F7F_FFFF, 0x0000_0001, 0x8000_0000, 0x0080_0000, 0x4040_0000]
        let values = bits.map { Float(bitPattern: $0) }
        var fast = [UInt16](repeating: 0, count: values.count), portable = fast
        for length in [values.count, 31, 33, 17, 1] {
            sp_f32_to_bf16(values, &fast, Int64(length))
            sp_f32_to_bf16_portable(values, &portable, Int64(length))
            for index in 0..<length where fast[index] != portable[index] {
                let value = values[index]
                XCTAssertTrue(value.isSubnormal && fast[index] & 0x7FFF == 0,
                              "\(value) (bits \(String(bits[index], radix: 16))): fast \(fast[index]) portable \(portable[index])")
            }
        }
    }

    /// Native bf16 linear (each operand converted once and kept for backward) computes exactly the products of
    /// rounded operands: y = r(x)·r(W)ᵀ + b, dX = r(dY)·r(W), dW = r(dY)ᵀ·r(x), db = Σ dY, accumulated in fp32.
    func testNativeLinearMultipliesRoundedOperandsForwardAndBackward() throws {
        guard Matmul.setPrecision(.bf16).precision == .bf16 else { throw XCTSkip("no AVX512-BF16 or AMX on this CPU") }
        var generator = RandomGenerator(seed: 13)
        let x = Tensor.normal([3, 37, 24], generator: &generator, requiresGrad: true)
        let w = Tensor.normal([19, 24], generator: &generator, requiresGrad: true)
        let b = Tensor.normal([19], generator: &generator, requiresGrad: true)
        let upstream = Tensor.normal([3, 37, 19], generator: &generator)
        let y = linear(x, weight: w, bias: b)
        sum(y * upstream).backward()
        let (gx, gw, gb) = (x.grad!, w.grad!, b.grad!)
        Matmul.setPrecision(.fp32)
        let rx = rounded(x).reshaped([111, 24]), rw = rounded(w), rUp = rounded(upstream).reshaped([111, 19])
        let expectedY = noGrad { linear(rx, weight: rw, bias: b) }
        assertClose(y.reshaped([111, 19]), expectedY, atol: 1e-4, rtol: 1e-4, "y")
        assertClose(gx.reshaped([111, 24]), noGrad { matmul(rUp, rw) }, atol: 1e-4, rtol: 1e-4, "dX")
        assertClose(gw, noGrad { matmul(rUp, rx, transposeA: true) }, atol: 1e-4, rtol: 1e-4, "dW")
        let expectedB = (0..<19).map { j in (0..<111).reduce(Float(0)) { $0 + upstream.data[$1 * 19 + j] } }
        assertClose(gb, Tensor(expectedB, shape: [19]), atol: 1e-4, rtol: 1e-5, "db")
    }

    /// The fused output projection + cross-entropy in native bf16 gives what native bf16 linear followed by
    /// cross-entropy gives (both round hidden, W and the scaled dLogits the same way), over several chunks, with a
    /// bias (dLogits kept in fp32 for its sum) and without (dLogits only in bf16).
    func testNativeLinearCrossEntropyEqualsLinearThenCrossEntropy() throws {
        guard Matmul.setPrecision(.bf16).precision == .bf16 else { throw XCTSkip("no AVX512-BF16 or AMX on this CPU") }
        for withBias in [true, false] {
            var generator = RandomGenerator(seed: 17)
            let hidden = Tensor.normal([2, 45, 16], generator: &generator, requiresGrad: true)
            let weight = Tensor.normal([53, 16], generator: &generator, requiresGrad: true)
            let bias = withBias ? Tensor.normal([53], generator: &generator, requiresGrad: true) : nil
            let targets = IntTensor((0..<90).map { $0 % 7 == 3 ? -100 : Int32(($0 * 31) % 53) }, shape: [2, 45])
            let parameters = [hidden, weight] + (bias.map { [$0] } ?? [])
            let fused = linearCrossEntropy(hidden, weight: weight, bias: bias, targets: targets, chunkRows: 16)
            fused.backward()
            let grads = parameters.map { $0.grad! }
            for parameter in parameters { parameter.grad = nil }
            let plain = crossEntropy(linear(hidden, weight: weight, bias: bias).reshaped([90, 53]),
                                     targets: IntTensor(targets.values, shape: [90]))
            plain.backward()
            XCTAssertEqual(fused.item, plain.item, accuracy: 1e-5)
            for (index, name) in ["dHidden", "dW", "db"].prefix(parameters.count).enumerated() {
                assertClose(grads[index], parameters[index].grad!, atol: 1e-5, rtol: 1e-4, "\(name), bias \(withBias)")
            }
            for parameter in parameters { parameter.grad = nil }
        }
    }

    /// Native bf16 bidirectional attention multiplies rounded operands and keeps the softmax in fp32:
    /// O = r(softmax(scale · r(Q) r(K)ᵀ + bias)) r(V); backward dV = r(P)ᵀ r(dO), dP = r(dO) r(V)ᵀ,
    /// dS = P ∘ (dP − rowsum(dO ∘ O)), dQ = scale · r(dS) r(K), dK = scale · r(dS)ᵀ r(Q). T = 300 makes three
    /// chunks of two (batch, head) pairs; the second sequence's last 40 keys are padding. Backward recomputes P, so a
    /// value on a rounding boundary may round the other way there: gradients are compared at bf16's own precision.
    func testNativeAttentionMultipliesRoundedOperandsWithAnFP32Softmax() throws {
        guard Matmul.setPrecision(.bf16).precision == .bf16 else { throw XCTSkip("no AVX512-BF16 or AMX on this CPU") }
        let (b, h, t, d) = (2, 3, 300, 16)
        var generator = RandomGenerator(seed: 19)
        let q = Tensor.normal([b, h, t, d], generator: &generator, requiresGrad: true)
        let k = Tensor.normal([b, h, t, d], generator: &generator, requiresGrad: true)
        let v = Tensor.normal([b, h, t, d], generator: &generator, requiresGrad: true)
        let upstream = Tensor.normal([b, h, t, d], generator: &generator)
        let padding = IntTensor((0..<(b * t)).map { $0 >= 2 * t - 40 ? 1 : 0 }, shape: [b, t])
        let out = scaledDotProductAttention(query: q, key: k, value: v, causal: false, keyPadding: padding)
        sum(out * upstream).backward()
        Matmul.setPrecision(.fp32)
        let scale = 1 / Float(d).squareRoot()
        let bias = Tensor((0..<(b * t)).map { padding.values[$0] != 0 ? -Float.infinity : 0 }, shape: [b, 1, 1, t])
        let (rq, rk, rv, rUp) = (rounded(q), rounded(k), rounded(v), rounded(upstream))
        let probs = noGrad { softmax(matmul(rq, rk, transposeB: true) * scale + bias) }
        let expected = noGrad { matmul(rounded(probs), rv) }
        assertClose(out, expected, atol: 1e-4, rtol: 1e-3, "out")
        let delta = noGrad { sum(upstream * out, axes: [3], keepDims: true) }
        let dScores = noGrad { probs * (matmul(rUp, rv, transposeB: true) - delta) }
        assertClose(v.grad!, noGrad { matmul(rounded(probs), rUp, transposeA: true) }, atol: 1e-3, rtol: 1e-2, "dV")
        assertClose(q.grad!, noGrad { matmul(rounded(dScores), rk) * scale }, atol: 1e-3, rtol: 1e-2, "dQ")
        assertClose(k.grad!, noGrad { matmul(rounded(dScores), rq, transposeA: true) * scale }, atol: 1e-3, rtol: 1e-2,
                    "dK")
    }

    /// The fused activation + product writes f(x) straight into the bf16 operand: the same bits as the activation op
    /// followed by native bf16 linear, forward and backward, for every activation it takes.
    func testNativeActivationLinearEqualsTheActivationThenLinear() throws {
        guard Matmul.setPrecision(.bf16).precision == .bf16 else { throw XCTSkip("no AVX512-BF16 or AMX on this CPU") }
        for kind in [UnaryKind.geluErf, .geluTanh, .silu, .relu] {
            var generator = RandomGenerator(seed: 23)
            let x = Tensor.normal([3, 700, 24], generator: &generator, requiresGrad: true)
            let w = Tensor.normal([19, 24], generator: &generator, requiresGrad: true)
            let b = Tensor.normal([19], generator: &generator, requiresGrad: true)
            let upstream = Tensor.normal([3, 700, 19], generator: &generator)
            let fused = activationLinear(kind, x, weight: w, bias: b)
            sum(fused * upstream).backward()
            let grads = [x, w, b].map { $0.grad!.copy() }
            for parameter in [x, w, b] { parameter.grad = nil }
            let plain = linear(unary(kind, x), weight: w, bias: b)
            sum(plain * upstream).backward()
            assertClose(fused, plain, atol: 0, rtol: 0, "y, \(kind)")
            for (index, name) in ["dX", "dW", "db"].enumerated() {
                assertClose(grads[index], [x, w, b][index].grad!, atol: 0, rtol: 0, "\(name), \(kind)")
            }
        }
    }

    /// Without a tape, products of one to four rows (generation's) run as AVX512-BF16 dot products over W as stored:
    /// the same products of rounded operands as the GEMM, for inner sizes off the 32-value blocks, output counts off
    /// the 4-column tiles and the 64-column thread blocks, with and without a bias; likewise the fused activation +
    /// linear. Five rows go through the GEMM.
    func testFewRowProductsWithoutATapeMultiplyRoundedOperands() throws {
        guard Matmul.setPrecision(.bf16).precision == .bf16 else { throw XCTSkip("no AVX512-BF16 or AMX on this CPU") }
        var generator = RandomGenerator(seed: 29)
        for (rows, inputs, outputs) in [(1, 37, 131), (2, 64, 7), (3, 5, 200), (4, 96, 64), (5, 70, 33), (1, 512, 2048)] {
            let x = Tensor.normal([rows, inputs], generator: &generator)
            let w = Tensor.normal([outputs, inputs], generator: &generator, requiresGrad: true)
            let b = Tensor.normal([outputs], generator: &generator, requiresGrad: true)
            let (y, yNoBias) = noGrad { (linear(x, weight: w, bias: b), linear(x, weight: w)) }
            let activated = noGrad { activationLinear(.geluTanh, x, weight: w, bias: b) }
            Matmul.setPrecision(.fp32)
            let (rx, rw) = (rounded(x), rounded(w))
            let label = "\(rows)×\(inputs) · (\(outputs)×\(inputs))ᵀ"
            assertClose(y, noGrad { linear(rx, weight: rw, bias: b) }, atol: 1e-4, rtol: 1e-4, label)
            assertClose(yNoBias, noGrad { linear(rx, weight: rw) }, atol: 1e-4, rtol: 1e-4, label + " without bias")
            let ra = rounded(noGrad { unary(.geluTanh, x) })
            assertClose(activated, noGrad { linear(ra, weight: rw, bias: b) }, atol: 1e-4, rtol: 1e-4, label + " GELU")
            Matmul.setPrecision(.bf16)
        }
    }

    private func rounded(_ tensor: Tensor) -> Tensor {
        let result = Tensor(uninitialized: tensor.shape)
        roundToBFloat16(tensor.data, result.data, count: tensor.count)
        return result
    }
}
