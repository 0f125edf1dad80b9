import Tensors
import TestSupport
import XCTest

/// Matmul and linear against PyTorch (fixtures: scripts/make_fixtures.py). fp32 GEMM reorders sums, so
/// tolerances are 1e-5 absolute + 1e-4 relative.
final class MatmulTests: XCTestCase {
    func testMatmulCasesMatchTorch() throws {
        for name in ["matmul_2d", "matmul_2d_tA", "matmul_2d_tB", "matmul_2d_tAtB", "matmul_batched",
                     "matmul_batched_tB", "matmul_broadcast_b"] {
            try checkAgainstTorch(name) { fixture, inputs in
                matmul(inputs["a"]!, inputs["b"]!, transposeA: fixture.flag("transposeA"),
                       transposeB: fixture.flag("transposeB"))
            }
        }
    }

    func testLinearMatchesTorch() throws {
        try checkAgainstTorch("linear") { _, inputs in linear(inputs["x"]!, weight: inputs["weight"]!, bias: inputs["bias"]) }
        try checkAgainstTorch("linear_nobias") { _, inputs in linear(inputs["x"]!, weight: inputs["weight"]!) }
    }

    /// Many rows and no more outputs than inputs: oneDNN's `linear` multiplies by a transposed copy of W. The result
    /// and the gradients are those of the plain product x · Wᵀ + b.
    func testLinearWithTransposedWeightMatchesThePlainProduct() {
        XCTAssertTrue(OneDNNBackend().prefersTransposedWeight(rows: 2048, inputs: 2048, outputs: 512))
        XCTAssertTrue(OneDNNBackend().prefersTransposedWeight(rows: 512, inputs: 96, outputs: 96))
        XCTAssertFalse(OneDNNBackend().prefersTransposedWeight(rows: 2048, inputs: 512, outputs: 2048))
        XCTAssertFalse(OneDNNBackend().prefersTransposedWeight(rows: 8, inputs: 2048, outputs: 512))
        var generator = RandomGenerator(seed: 3)
        let x = Tensor.normal([4, 150, 96], generator: &generator, requiresGrad: true)
        let weight = Tensor.normal([80, 96], generator: &generator, requiresGrad: true)
        let bias = Tensor.normal([80], generator: &generator, requiresGrad: true)
        let y = linear(x, weight: weight, bias: bias)
        (y * y).sum().backward()
        let (dX, dW, dB) = (x.grad!.copy(), weight.grad!.copy(), bias.grad!.copy())
        x.grad = nil; weight.grad = nil; bias.grad = nil
        let reference = matmul(x, weight, transposeB: true) + bias
        (reference * reference).sum().backward()
        assertClose(y, reference, atol: 1e-4, rtol: 1e-5, "y")
        assertClose(x.grad!, dX, atol: 1e-3, rtol: 1e-5, "dX")
        assertClose(weight.grad!, dW, atol: 1e-3, rtol: 1e-5, "dW")
        assertClose(bias.grad!, dB, atol: 1e-3, rtol: 1e-5, "db")
    }

    func testMatmulGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 1)
        let a = Tensor.normal([2, 3, 4], generator: &generator)
        let b = Tensor.normal([2, 5, 4], generator: &generator)
        XCTAssertLessThan(maxGradientError(inputs: [a, b]) { matmul($0[0], $0[1], transposeB: true) }, 1e-2)
        let w = Tensor.normal([3, 4], generator: &generator)
        XCTAssertLessThan(maxGradientError(inputs: [a, w]) { matmul($0[0], $0[1], transposeB: true) }, 1e-2)
    }
}

/// Broadcasting binary ops and elementwise functions against PyTorch.
final class ElementwiseTests: XCTestCase {
    func testBinaryBroadcastingMatchesTorch() throws {
        for name in ["add_same", "add_bcast_row", "add_bcast_mid", "sub_bcast", "mul_bcast", "div_bcast", "mul_scalar_tensor"] {
            try checkAgainstTorch(name) { fixture, inputs in
                let a = inputs["a"]!, b = inputs["b"]!
                switch fixture.metadata["op"] {
                case "add": return a + b
                case "sub": return a - b
                case "mul": return a * b
                case "div": return a / b
                default: XCTFail("unknown op \(fixture.metadata["op"] ?? "nil")"); return a
                }
            }
        }
    }

    func testUnaryFunctionsMatchTorch() throws {
        let table: [(String, (Tensor) -> Tensor)] = [
            ("exp", exp), ("log", log), ("sqrt", sqrt), ("tanh", tanh), ("sigmoid", sigmoid), ("relu", relu),
            ("gelu_tanh", { gelu($0, approximate: .tanh) }), ("gelu_erf", { gelu($0) }), ("silu", silu), ("neg", { -$0 }),
        ]
        for (name, function) in table {
            try checkAgainstTorch(name) { _, inputs in function(inputs["x"]!) }
        }
    }
}
