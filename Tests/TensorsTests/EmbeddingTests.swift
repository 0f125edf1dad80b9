import Tensors
import TestSupport
import XCTest

/// Embedding lookup against PyTorch (fixture: scripts/make_fixtures.py). The forward copies rows (exact);
/// the gradient sums at most a few rows of grad_out per weight row, so 1e-6 absolute + 1e-6 relative.
final class EmbeddingTests: XCTestCase {
    func testEmbeddingMatchesTorch() throws {
        try checkAgainstTorch("embedding", atol: 0, rtol: 0, gradAtol: 1e-6, gradRtol: 1e-6) { fixture, inputs in
            embedding(inputs["weight"]!, indices: try fixture.indices("indices"))
        }
    }

    func testOutputShapeIsIndexShapePlusChannels() {
        let weight = Tensor.normal([7, 3])
        XCTAssertEqual(embedding(weight, indices: IntTensor([1, 2, 3, 4, 5, 6], shape: [2, 1, 3])).shape, [2, 1, 3, 3])
    }

    func testRepeatedIndicesAccumulateGradients() {
        let weight = Tensor(zeros: [3, 2], requiresGrad: true)
        let y = embedding(weight, indices: IntTensor([2, 0, 2, 2], shape: [4]))
        Autograd.backward(y, seed: Tensor([1, 10, 2, 20, 3, 30, 4, 40], shape: [4, 2]))
        XCTAssertEqual(weight.grad!.scalars, [2, 20,
                                              0, 0,
                                              8, 80])
    }

    /// Enough positions for the parallel scatter, with a few ids much more frequent than the rest (as
    /// tokens are): bitwise equal to adding the rows one position after another.
    func testParallelBackwardEqualsSequentialScatter() {
        var generator = RandomGenerator(seed: 8)
        let vocabulary = 500, channels = 48, positions = 4000
        let ids = (0..<positions).map { _ in
            generator.nextFloat() < 0.5 ? generator.nextInt(below: 4) : generator.nextInt(below: vocabulary)
        }
        let weight = Tensor.normal([vocabulary, channels], generator: &generator, requiresGrad: true)
        let y = embedding(weight, indices: IntTensor(ids, shape: [40, 100]))
        let seed = Tensor.normal(y.shape, generator: &generator)
        Autograd.backward(y, seed: seed)
        var expected = [Float](repeating: 0, count: vocabulary * channels)
        for (n, id) in ids.enumerated() {
            for j in 0..<channels { expected[id * channels + j] += seed.data[n * channels + j] }
        }
        assertClose(weight.grad!, Tensor(expected, shape: weight.shape), atol: 0, rtol: 0, "scattered rows")
    }

    func testEmbeddingGradientMatchesFiniteDifferences() {
        var generator = RandomGenerator(seed: 9)
        let weight = Tensor.normal([6, 4], generator: &generator)
        let indices = IntTensor([5, 0, 3, 3, 1, 5, 5], shape: [7])
        XCTAssertLessThan(maxGradientError(inputs: [weight]) { embedding($0[0], indices: indices) }, 1e-2)
    }
}
