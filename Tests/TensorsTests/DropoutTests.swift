import Tensors
import XCTest

/// Dropout. No torch fixture: torch's generator differs, so these pin the distribution and the mask handling.
final class DropoutTests: XCTestCase {
    func testKeptFractionIsOneMinusP() {
        var generator = RandomGenerator(seed: 1)
        let x = Tensor(repeating: 1, shape: [100_000])
        for p: Float in [0.1, 0.5, 0.9] {
            let kept = dropout(x, p: p, generator: &generator).scalars.filter { $0 != 0 }.count
            // Binomial std ≤ sqrt(100000·0.25) ≈ 158, i.e. 0.0016 of the count; 0.01 is > 6 std.
            XCTAssertEqual(Float(kept) / 100_000, 1 - p, accuracy: 0.01, "p = \(p)")
        }
    }

    func testKeptValuesAreScaledExactly() {
        var generator = RandomGenerator(seed: 2)
        let x = Tensor.normal([1000], generator: &generator)
        let p: Float = 0.3
        let y = dropout(x, p: p, generator: &generator)
        for i in 0..<x.count where y.data[i] != 0 {
            XCTAssertEqual(y.data[i], x.data[i] * (1 / (1 - p)))
        }
    }

    func testBackwardUsesTheForwardMask() {
        var generator = RandomGenerator(seed: 3)
        let x = Tensor.normal([1000], generator: &generator, requiresGrad: true)
        let dy = Tensor.normal([1000], generator: &generator)
        let y = dropout(x, p: 0.4, generator: &generator)
        Autograd.backward(y, seed: dy)
        for i in 0..<x.count {
            let kept = y.data[i] != 0
            XCTAssertEqual(x.grad!.data[i], kept ? dy.data[i] * (1 / (1 - 0.4)) : 0, "element \(i)")
        }
    }

    func testSameSeedGivesSameResult() {
        let x = Tensor(repeating: 1, shape: [10_000])
        var first = RandomGenerator(seed: 7), second = RandomGenerator(seed: 7)
        XCTAssertEqual(dropout(x, p: 0.5, generator: &first).scalars, dropout(x, p: 0.5, generator: &second).scalars)
        XCTAssertEqual(first.stateWords, second.stateWords)
    }

    func testDefaultGeneratorIsRandomGenerator() {
        let x = Tensor(repeating: 1, shape: [1000])
        Random.seed(11)
        let viaDefault = dropout(x, p: 0.5).scalars
        var generator = RandomGenerator(seed: 11)
        XCTAssertEqual(viaDefault, dropout(x, p: 0.5, generator: &generator).scalars)
    }

    func testZeroProbabilityReturnsTheInputItself() {
        var generator = RandomGenerator(seed: 4)
        let x = Tensor.normal([10], generator: &generator)
        let before = generator.stateWords
        XCTAssertTrue(dropout(x, p: 0, generator: &generator) === x)
        XCTAssertEqual(generator.stateWords, before)
    }

    func testGradientMatchesFiniteDifferences() {
        // The mask is redrawn on every evaluation, so each call starts from the same seed.
        var generator = RandomGenerator(seed: 5)
        let x = Tensor.normal([4, 5], generator: &generator)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { inputs in
            var g = RandomGenerator(seed: 6)
            return dropout(inputs[0], p: 0.3, generator: &g)
        }, 1e-2)
    }

    /// residual + dropout(x) fused equals the two ops drawn from the same generator state, bit for bit, values and
    /// both gradients.
    func testAddDropoutEqualsAddingTheDroppedTensor() {
        var generator = RandomGenerator(seed: 8)
        let residual = Tensor.normal([3, 70_001], generator: &generator, requiresGrad: true)
        let x = Tensor.normal([3, 70_001], generator: &generator, requiresGrad: true)
        let seed = Tensor.normal([3, 70_001], generator: &generator)
        var first = RandomGenerator(seed: 99), second = RandomGenerator(seed: 99)
        let fused = addDropout(residual, x, p: 0.3, generator: &first)
        Autograd.backward(fused, seed: seed)
        let (fusedResidualGrad, fusedXGrad) = (residual.grad!, x.grad!)
        residual.grad = nil; x.grad = nil
        let composed = residual + dropout(x, p: 0.3, generator: &second)
        Autograd.backward(composed, seed: seed)
        XCTAssertEqual(fused.scalars, composed.scalars)
        XCTAssertEqual(fusedResidualGrad.scalars, residual.grad!.scalars)
        XCTAssertEqual(fusedXGrad.scalars, x.grad!.scalars)
        XCTAssertEqual(first.next(), second.next(), "the same draws")
    }
}
