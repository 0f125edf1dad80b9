import Tensors
import TestSupport
import XCTest

/// Layer norm and RMS norm against PyTorch (fixtures: scripts/make_fixtures.py). Rows of 16 with values of
/// order 2: tolerances 1e-5 absolute + 1e-4 relative for outputs and for gradients.
final class NormalizationTests: XCTestCase {
    func testLayerNormMatchesTorch() throws {
        try checkAgainstTorch("layer_norm") { fixture, inputs in
            layerNorm(inputs["x"]!, weight: inputs["weight"]!, bias: inputs["bias"]!, eps: fixture.float("eps")!)
        }
    }

    func testRMSNormMatchesTorch() throws {
        try checkAgainstTorch("rms_norm") { fixture, inputs in
            rmsNorm(inputs["x"]!, weight: inputs["weight"]!, eps: fixture.float("eps")!)
        }
    }

    func testLayerNormWithoutParametersGivesZeroMeanUnitVariance() {
        var generator = RandomGenerator(seed: 1)
        let x = Tensor.normal([4, 32], mean: 3, std: 5, generator: &generator)
        let y = layerNorm(x, weight: nil, bias: nil, eps: 0)
        for row in 0..<4 {
            let values = y.scalars[(row * 32)..<((row + 1) * 32)]
            let mean = values.reduce(0, +) / 32
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 32
            XCTAssertEqual(mean, 0, accuracy: 1e-6)
            XCTAssertEqual(variance, 1, accuracy: 1e-5)
        }
    }

    /// BERT uses eps = 1e-12, so nothing hides cancellation in the variance: rows far from zero with a small
    /// spread must still normalise as a Double reference does (a one-pass float E[x²] − E[x]² fails here).
    func testLayerNormStatisticsAreAccurateWithTinyEps() {
        var generator = RandomGenerator(seed: 2)
        let c = 768
        let x = Tensor.normal([3, c], mean: 100, std: 0.05, generator: &generator)
        let y = layerNorm(x, weight: nil, bias: nil, eps: 1e-12)
        for row in 0..<3 {
            let values = (0..<c).map { Double(x.data[row * c + $0]) }
            let mean = values.reduce(0, +) / Double(c)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)
            for i in 0..<c {
                let expected = (values[i] - mean) / (variance + 1e-12).squareRoot()
                XCTAssertEqual(Double(y.data[row * c + i]), expected, accuracy: 1e-3, "row \(row), column \(i)")
            }
        }
    }

    func testRMSNormWithoutWeightHasUnitMeanSquare() {
        var generator = RandomGenerator(seed: 3)
        let x = Tensor.normal([4, 32], mean: 1, std: 3, generator: &generator)
        let y = rmsNorm(x, weight: nil, eps: 0)
        for row in 0..<4 {
            let meanSquare = y.scalars[(row * 32)..<((row + 1) * 32)].map { $0 * $0 }.reduce(0, +) / 32
            XCTAssertEqual(meanSquare, 1, accuracy: 1e-5)
        }
    }

    func testLayerNormGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 4)
        let x = Tensor.normal([2, 3, 6], generator: &generator)
        let weight = Tensor.normal([6], mean: 1, std: 0.3, generator: &generator)
        let bias = Tensor.normal([6], std: 0.3, generator: &generator)
        XCTAssertLessThan(maxGradientError(inputs: [x, weight, bias]) { layerNorm($0[0], weight: $0[1], bias: $0[2]) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { layerNorm($0[0], weight: nil, bias: nil) }, 1e-2)
    }

    func testRMSNormGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 5)
        let x = Tensor.normal([2, 3, 6], generator: &generator)
        let weight = Tensor.normal([6], mean: 1, std: 0.3, generator: &generator)
        XCTAssertLessThan(maxGradientError(inputs: [x, weight]) { rmsNorm($0[0], weight: $0[1]) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { rmsNorm($0[0], weight: nil) }, 1e-2)
    }

    /// Enough rows to spread over threads and blocks: the blocked dweight/dbias sums must equal plain sums.
    func testParameterGradientsOverManyRowsMatchDirectSums() {
        var generator = RandomGenerator(seed: 6)
        let (n, c) = (1000, 40)
        let x = Tensor.normal([n, c], generator: &generator)
        let weight = Tensor.normal([c], mean: 1, std: 0.3, generator: &generator, requiresGrad: true)
        let bias = Tensor(zeros: [c], requiresGrad: true)
        let dy = Tensor.normal([n, c], generator: &generator)
        Autograd.backward(layerNorm(x, weight: weight, bias: bias), seed: dy)
        let normalized = layerNorm(x, weight: nil, bias: nil)
        for i in 0..<c {
            var dWeight = 0.0, dBias = 0.0
            for row in 0..<n {
                dWeight += Double(dy.data[row * c + i]) * Double(normalized.data[row * c + i])
                dBias += Double(dy.data[row * c + i])
            }
            XCTAssertEqual(Double(weight.grad!.data[i]), dWeight, accuracy: 1e-3)
            XCTAssertEqual(Double(bias.grad!.data[i]), dBias, accuracy: 1e-3)
        }
    }
}

/// The fused residual add + layer norm equals the two ops it replaces, in value and in every gradient.
final class AddLayerNormTests: XCTestCase {
    func testFusedAddAndNormMatchesTheSeparateOps() {
        var generator = RandomGenerator(seed: 21)
        func leaves() -> [Tensor] {
            var copy = generator
            let tensors = [Tensor.normal([3, 5, 16], generator: &copy, requiresGrad: true),
                           Tensor.normal([3, 5, 16], generator: &copy, requiresGrad: true),
                           Tensor.normal([16], generator: &copy, requiresGrad: true),
                           Tensor.normal([16], generator: &copy, requiresGrad: true)]
            return tensors
        }
        let upstreamSum = Tensor.normal([3, 5, 16], generator: &generator)
        let upstreamNormed = Tensor.normal([3, 5, 16], generator: &generator)
        let fused = leaves(), separate = leaves()
        // One graph at a time: the tape is global, and a backward consumes every entry recorded before it.
        let (added, normed) = addLayerNorm(fused[0], fused[1], weight: fused[2], bias: fused[3], eps: 1e-5)
        // Both outputs feed the loss, as in a pre-LN block (the sum continues down the residual stream).
        sum(added * upstreamSum + normed * upstreamNormed).backward()
        let reference = separate[0] + separate[1]
        let referenceNormed = layerNorm(reference, weight: separate[2], bias: separate[3], eps: 1e-5)
        sum(reference * upstreamSum + referenceNormed * upstreamNormed).backward()
        assertClose(added, reference, atol: 0, rtol: 0, "sum")
        assertClose(normed, referenceNormed, atol: 1e-6, rtol: 1e-6, "normed")
        for (index, name) in ["x", "y", "weight", "bias"].enumerated() {
            guard let actual = fused[index].grad, let expected = separate[index].grad else {
                XCTFail("no gradient of \(name): fused \(fused[index].grad != nil), separate \(separate[index].grad != nil)")
                continue
            }
            assertClose(actual, expected, atol: 1e-5, rtol: 1e-5, "gradient of \(name)")
        }
    }
}
