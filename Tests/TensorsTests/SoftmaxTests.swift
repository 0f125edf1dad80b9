import Foundation
import Tensors
import TestSupport
import XCTest

/// Softmax and log-softmax against PyTorch (fixtures: scripts/make_fixtures.py). Outputs and gradients are
/// of order 1 and each element sums at most 7 terms in float32: tolerances 1e-5 absolute + 1e-4 relative.
final class SoftmaxTests: XCTestCase {
    func testSoftmaxOverLastAxisMatchesTorch() throws {
        try checkAgainstTorch("softmax") { fixture, inputs in softmax(inputs["x"]!, axis: fixture.int("axis")!) }
    }

    func testSoftmaxOverInnerAxisMatchesTorch() throws {
        try checkAgainstTorch("softmax_axis1") { fixture, inputs in softmax(inputs["x"]!, axis: fixture.int("axis")!) }
    }

    func testLogSoftmaxMatchesTorch() throws {
        try checkAgainstTorch("log_softmax") { fixture, inputs in logSoftmax(inputs["x"]!, axis: fixture.int("axis")!) }
    }

    func testLargeLogitsDoNotOverflow() {
        let x = Tensor([1000, 1001, 1002, -1000], shape: [1, 4])
        let shifted = Tensor([0, 1, 2, -2000], shape: [1, 4])
        assertClose(softmax(x), softmax(shifted), atol: 1e-7, rtol: 1e-6, "softmax")
        // x − lse is rounded at magnitude 1000, where a float's spacing is 6e-5.
        assertClose(logSoftmax(x), logSoftmax(shifted), atol: 1e-4, rtol: 1e-6, "logSoftmax")
    }

    func testNegativeAndPositiveAxesAgree() {
        var generator = RandomGenerator(seed: 3)
        let x = Tensor.normal([2, 3, 5], generator: &generator)
        XCTAssertEqual(softmax(x, axis: 2).scalars, softmax(x, axis: -1).scalars)
        XCTAssertEqual(softmax(x, axis: 0).scalars, softmax(x, axis: -3).scalars)
    }

    func testEveryAxisSumsToOne() {
        var generator = RandomGenerator(seed: 4)
        let x = Tensor.normal([3, 4, 5], std: 3, generator: &generator)
        for (axis, size) in [(0, 3), (1, 4), (2, 5)] {
            let y = softmax(x, axis: axis)
            let strides = [20, 5, 1]
            for start in 0..<x.count where (start / strides[axis]) % size == 0 {
                var sum: Float = 0
                for j in 0..<size { sum += y.data[start + j * strides[axis]] }
                XCTAssertEqual(sum, 1, accuracy: 1e-6, "axis \(axis), line at \(start)")
            }
        }
    }

    /// Big enough that lines are split over threads: every line must match a Double reference.
    func testThreadedLinesMatchADoubleReference() {
        var generator = RandomGenerator(seed: 6)
        let (outer, n, inner) = (30, 50, 40)
        let x = Tensor.normal([outer, n, inner], std: 2, generator: &generator)
        for (axis, stride) in [(1, inner), (2, 1)] {
            let length = axis == 1 ? n : inner
            let y = softmax(x, axis: axis), logY = logSoftmax(x, axis: axis)
            for start in 0..<x.count where (start / stride) % length == 0 {
                let line = (0..<length).map { Double(x.data[start + $0 * stride]) }
                let maximum = line.max()!
                let lse = maximum + Foundation.log(line.map { Foundation.exp($0 - maximum) }.reduce(0, +))
                for j in 0..<length {
                    XCTAssertEqual(Double(y.data[start + j * stride]), Foundation.exp(line[j] - lse), accuracy: 1e-6)
                    XCTAssertEqual(Double(logY.data[start + j * stride]), line[j] - lse, accuracy: 1e-5)
                }
            }
        }
    }

    func testGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 5)
        let x = Tensor.normal([3, 4, 5], generator: &generator)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { softmax($0[0]) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { softmax($0[0], axis: 1) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { logSoftmax($0[0]) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { logSoftmax($0[0], axis: 0) }, 1e-2)
    }
}
