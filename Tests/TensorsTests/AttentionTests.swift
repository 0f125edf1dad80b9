import Tensors
import TestSupport
import XCTest

/// Fused scaled-dot-product attention against PyTorch (scripts/make_fixtures.py), against the slow reference
/// kernel on random shapes, and against finite differences.
/// Tolerances: forward 1e-5 absolute + 1e-4 relative; gradients 1e-4 absolute + 1e-3 relative (the fused
/// kernel sums in tile order and recomputes the probabilities from the saved log-sum-exp).
final class AttentionTests: XCTestCase {
    func testFusedAttentionMatchesTorch() throws {
        for name in ["sdpa_causal", "sdpa_bidirectional", "sdpa_padding", "sdpa_causal_padding", "sdpa_causal_long"] {
            try checkAgainstTorch(name, atol: 1e-5, rtol: 1e-4, gradAtol: 1e-4, gradRtol: 1e-3) { fixture, inputs in
                let padding = fixture.file.names.contains("idx.key_padding") ? try fixture.indices("key_padding") : nil
                return scaledDotProductAttention(query: inputs["q"]!, key: inputs["k"]!, value: inputs["v"]!,
                                                 causal: fixture.flag("causal"), keyPadding: padding,
                                                 scale: fixture.float("scale"))
            }
        }
    }

    /// (B, H, Tq, Tk, D, Dv): T = 1, lengths that are not multiples of the blocks (32 queries, 64 keys), several
    /// blocks, Tq ≠ Tk, head widths that are not multiples of 8 or 16, and a value width unlike the key width.
    static let randomShapes: [(Int, Int, Int, Int, Int, Int)] = [
        (1, 1, 1, 1, 8, 8), (2, 2, 1, 9, 16, 16), (2, 3, 5, 5, 8, 8), (1, 2, 70, 70, 16, 16),
        (2, 1, 130, 130, 12, 12), (1, 2, 33, 97, 8, 8), (1, 1, 100, 40, 8, 24), (1, 2, 65, 65, 32, 8),
    ]

    func testFusedKernelMatchesReferenceOnRandomInputs() {
        var generator = RandomGenerator(seed: 11)
        for (b, h, tq, tk, d, dv) in Self.randomShapes {
            for causal in [false, true] {
                for padded in [false, true] {
                    // Batch 0 pads every third key; the last batch pads every key (rows that see nothing).
                    let padding = padded ? IntTensor((0..<(b * tk)).map { i in
                        i / tk == b - 1 && b > 1 ? 1 : (i % tk % 3 == 2 ? 1 : 0)
                    }, shape: [b, tk]) : nil
                    assertFusedMatchesReference(b, h, tq, tk, d, dv, causal: causal, padding: padding,
                                                generator: &generator)
                }
            }
        }
    }

    func testRowsThatSeeNoKeyOutputZerosAndPassNoGradient() {
        var generator = RandomGenerator(seed: 3)
        let q = Tensor.normal([1, 2, 4, 8], generator: &generator), k = Tensor.normal([1, 2, 6, 8], generator: &generator)
        let v = Tensor.normal([1, 2, 6, 8], generator: &generator)
        for tensor in [q, k, v] { tensor.requiresGrad = true }
        let out = scaledDotProductAttention(query: q, key: k, value: v, causal: false,
                                            keyPadding: IntTensor([Int](repeating: 1, count: 6), shape: [1, 6]))
        XCTAssertEqual(out.scalars, [Float](repeating: 0, count: out.count))
        Autograd.backward(out, seed: Tensor.normal(out.shape, generator: &generator))
        for tensor in [q, k, v] {
            XCTAssertEqual(tensor.grad?.scalars ?? [], [Float](repeating: 0, count: tensor.count))
        }
    }

    /// Causal attention with Tq < Tk treats the queries as the last Tq positions (KV-cache decoding):
    /// it reproduces the last rows of full causal attention.
    func testCausalQueriesAlignToTheEndOfTheKeys() {
        var generator = RandomGenerator(seed: 5)
        let t = 75, tq = 7
        let q = Tensor.normal([2, 2, t, 16], generator: &generator), k = Tensor.normal([2, 2, t, 16], generator: &generator)
        let v = Tensor.normal([2, 2, t, 16], generator: &generator)
        let full = scaledDotProductAttention(query: q, key: k, value: v, causal: true)
        let decoded = scaledDotProductAttention(query: lastRows(q, tq), key: k, value: v, causal: true)
        assertClose(decoded, lastRows(full, tq), atol: 1e-6, rtol: 1e-5, "last \(tq) queries")
    }

    func testScaleDefaultsToInverseSquareRootOfHeadDim() {
        var generator = RandomGenerator(seed: 6)
        let q = Tensor.normal([1, 2, 9, 16], generator: &generator), k = Tensor.normal([1, 2, 9, 16], generator: &generator)
        let v = Tensor.normal([1, 2, 9, 16], generator: &generator)
        XCTAssertEqual(scaledDotProductAttention(query: q, key: k, value: v, causal: false).scalars,
                       scaledDotProductAttention(query: q, key: k, value: v, causal: false, scale: 0.25).scalars)
    }

    func testGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 9)
        let padding = IntTensor([0, 0, 1, 0, 0, 0, 1, 1, 0, 1], shape: [2, 5])
        for (tq, causal, keyPadding) in [(5, true, nil), (5, false, padding), (3, true, padding)] as [(Int, Bool, IntTensor?)] {
            let q = Tensor.normal([2, 2, tq, 4], generator: &generator)
            let k = Tensor.normal([2, 2, 5, 4], generator: &generator), v = Tensor.normal([2, 2, 5, 4], generator: &generator)
            let error = maxGradientError(inputs: [q, k, v]) {
                scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], causal: causal, keyPadding: keyPadding)
            }
            XCTAssertLessThan(error, 1e-2, "Tq \(tq), causal \(causal), padding \(keyPadding != nil)")
        }
    }

    // MARK: - helpers

    func assertFusedMatchesReference(_ b: Int, _ h: Int, _ tq: Int, _ tk: Int, _ d: Int, _ dv: Int,
                                     causal: Bool, padding: IntTensor?, generator: inout RandomGenerator,
                                     file: StaticString = #filePath, line: UInt = #line) {
        let what = "B\(b) H\(h) Tq\(tq) Tk\(tk) D\(d) Dv\(dv) causal \(causal) padded \(padding != nil)"
        let q = Tensor.normal([b, h, tq, d], generator: &generator), k = Tensor.normal([b, h, tk, d], generator: &generator)
        let v = Tensor.normal([b, h, tk, dv], generator: &generator)
        let gradOut = Tensor.normal([b, h, tq, dv], generator: &generator)
        func run(_ attention: (Tensor, Tensor, Tensor) -> Tensor) -> [Tensor] {
            let inputs = [q, k, v].map { Tensor($0.scalars, shape: $0.shape, requiresGrad: true) }
            let out = attention(inputs[0], inputs[1], inputs[2])
            Autograd.backward(out, seed: gradOut)
            return [out] + inputs.map { $0.grad ?? Tensor(zeros: $0.shape) }
        }
        let fused = run { scaledDotProductAttention(query: $0, key: $1, value: $2, causal: causal, keyPadding: padding) }
        let reference = run { attentionReference(query: $0, key: $1, value: $2, causal: causal, keyPadding: padding) }
        assertClose(fused[0], reference[0], atol: 1e-5, rtol: 1e-4, "\(what) forward", file: file, line: line)
        for (index, name) in ["q", "k", "v"].enumerated() {
            assertClose(fused[index + 1], reference[index + 1], atol: 1e-4, rtol: 1e-3, "\(what) grad of \(name)",
                        file: file, line: line)
        }
    }

    /// x (B, H, T, D) → its last `count` rows along T.
    func lastRows(_ x: Tensor, _ count: Int) -> Tensor {
        let (pairs, t, d) = (x.size(0) * x.size(1), x.size(2), x.size(3))
        var values: [Float] = []
        let all = x.scalars
        for pair in 0..<pairs { values += all[((pair * t + t - count) * d)..<((pair + 1) * t * d)] }
        return Tensor(values, shape: [x.size(0), x.size(1), count, d])
    }
}
