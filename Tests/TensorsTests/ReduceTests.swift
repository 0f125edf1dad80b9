import Tensors
import TestSupport
import XCTest

/// sum, mean and max against PyTorch (fixtures: scripts/make_fixtures.py, references computed in float64).
/// Sums accumulate in Double across blocks, so forward tolerances are 1e-6 absolute + 1e-5 relative;
/// gradients are copies or scaled copies of grad_out, checked to 1e-6 + 1e-6 relative.
final class ReduceTests: XCTestCase {
    func testSumOfAllElementsMatchesTorch() throws {
        try checkAgainstTorch("sum_all", atol: 1e-6, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-6) { fixture, inputs in
            XCTAssertEqual(fixture.metadata["axes"], "all")
            return sum(inputs["x"]!)
        }
    }

    func testSumOverOneAxisMatchesTorch() throws {
        try checkAgainstTorch("sum_axis1", atol: 1e-6, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-6) { fixture, inputs in
            sum(inputs["x"]!, axes: fixture.ints("axes"), keepDims: fixture.flag("keepDims"))
        }
    }

    func testSumOverSeparatedAxesKeepingDimsMatchesTorch() throws {
        try checkAgainstTorch("sum_axes02_keep", atol: 1e-6, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-6) { fixture, inputs in
            XCTAssertEqual(fixture.ints("axes"), [0, 2])
            return sum(inputs["x"]!, axes: fixture.ints("axes"), keepDims: fixture.flag("keepDims"))
        }
    }

    func testMeanOverLastAxisMatchesTorch() throws {
        try checkAgainstTorch("mean_axis_last", atol: 1e-6, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-6) { fixture, inputs in
            mean(inputs["x"]!, axes: fixture.ints("axes"), keepDims: fixture.flag("keepDims"))
        }
    }

    func testMeanOfAllElementsMatchesTorch() throws {
        try checkAgainstTorch("mean_all", atol: 1e-6, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-6) { _, inputs in
            mean(inputs["x"]!)
        }
    }

    func testMaxOverAxisMatchesTorch() throws {
        try checkAgainstTorch("max_axis1", atol: 0, rtol: 0, gradAtol: 0, gradRtol: 0) { fixture, inputs in
            max(inputs["x"]!, axis: fixture.ints("axes")[0], keepDims: fixture.flag("keepDims"))
        }
    }

    func testConvenienceMethodsReduceEveryElement() {
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        XCTAssertEqual(x.sum().shape, [])
        XCTAssertEqual(x.sum().item, 21)
        XCTAssertEqual(x.mean().item, 3.5)
    }

    func testKeepDimsLeavesSizeOneAxes() {
        let x = Tensor.normal([2, 3, 4])
        XCTAssertEqual(sum(x, axes: [1], keepDims: true).shape, [2, 1, 4])
        XCTAssertEqual(mean(x, axes: [-1, 0]).shape, [3])
        XCTAssertEqual(max(x, axis: -1, keepDims: true).shape, [2, 3, 1])
    }

    func testMaxGradientGoesToFirstMaximalElement() {
        let x = Tensor([1, 5, 5, 2,
                        7, 7, 7, 7], shape: [2, 4], requiresGrad: true)
        let y = max(x, axis: 1)
        XCTAssertEqual(y.scalars, [5, 7])
        Autograd.backward(y, seed: Tensor([10, 20], shape: [2]))
        XCTAssertEqual(x.grad!.scalars, [0, 10, 0, 0,
                                         20, 0, 0, 0])
    }

    func testMaxOverLeadingAxisPicksFirstMaximalRow() {
        let x = Tensor([3, 1,
                        3, 4], shape: [2, 2], requiresGrad: true)
        let y = max(x, axis: 0)
        XCTAssertEqual(y.scalars, [3, 4])
        y.sum().backward()
        XCTAssertEqual(x.grad!.scalars, [1, 0,
                                         0, 1])
    }

    /// As torch: a NaN anywhere in the run is the maximum, and the gradient goes to the first NaN.
    func testMaxPropagatesNaN() {
        var values = (0..<20).map { Float($0) }
        values[11] = .nan
        values[15] = .nan
        let row = Tensor(values, shape: [20], requiresGrad: true)
        let y = max(row, axis: 0)
        XCTAssertTrue(y.item.isNaN)
        y.backward()
        XCTAssertEqual(row.grad!.scalars.firstIndex(of: 1), 11)
        let columns = Tensor([1, 2, .nan, 4, 5, 6], shape: [3, 2])
        XCTAssertEqual(max(columns, axis: 0).scalars.map(\.isNaN), [true, false])
    }

    /// A million values of 0.1: a sequential Float sum would be off by ~1%.
    func testSumOfManyElementsStaysAccurate() {
        let x = Tensor(repeating: 0.1, shape: [1 << 20])
        let expected = Double(Float(0.1)) * Double(1 << 20)
        XCTAssertEqual(Double(x.sum().item), expected, accuracy: expected * 1e-6)
    }

    /// The blocked, parallel kernels agree with a plain Double loop on shapes that take every path:
    /// contiguous rows (inner 1), few outer rows split by columns, many outer rows, separated axes.
    func testAxisReductionsMatchPlainLoopsOnLargeShapes() {
        var generator = RandomGenerator(seed: 3)
        let x = Tensor.normal([5, 100, 301], generator: &generator)
        for axes in [[2], [1], [0], [0, 1], [1, 2], [0, 2]] {
            let expected = referenceSum(x, axes: axes)
            assertClose(sum(x, axes: axes), expected, atol: 1e-5, rtol: 1e-5, "sum over \(axes)")
            let n = Float(axes.map { x.shape[$0] }.reduce(1, *))
            assertClose(mean(x, axes: axes), Tensor(expected.scalars.map { $0 / n }, shape: expected.shape),
                        atol: 1e-6, rtol: 1e-5, "mean over \(axes)")
        }
        for axis in 0..<3 {
            assertClose(max(x, axis: axis), referenceMax(x, axis: axis), atol: 0, rtol: 0, "max over \(axis)")
        }
    }

    func testReductionGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 1)
        let x = Tensor.normal([3, 4, 5], generator: &generator)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { sum($0[0]) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { sum($0[0], axes: [1]) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { sum($0[0], axes: [0, 2], keepDims: true) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { mean($0[0]) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { mean($0[0], axes: [-1]) }, 1e-2)
    }

    /// Values 0.1 apart, so a ±0.01 step never changes which element is the maximum.
    func testMaxGradientMatchesFiniteDifferences() {
        var generator = RandomGenerator(seed: 2)
        var values = (0..<60).map { Float($0) * 0.1 }
        for i in values.indices.reversed() { values.swapAt(i, generator.nextInt(below: i + 1)) }
        let x = Tensor(values, shape: [3, 4, 5])
        for axis in 0..<3 {
            XCTAssertLessThan(maxGradientError(inputs: [x]) { max($0[0], axis: axis) }, 1e-2, "axis \(axis)")
        }
    }
}

/// Σ over `axes` by a plain Double loop over every element.
func referenceSum(_ x: Tensor, axes: [Int]) -> Tensor {
    let outShape = x.shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    var totals = [Double](repeating: 0, count: outShape.reduce(1, *))
    forEachIndex(x.shape) { linear, index in
        totals[outputOffset(index, shape: x.shape, dropping: axes)] += Double(x.data[linear])
    }
    return Tensor(totals.map { Float($0) }, shape: outShape)
}

/// max over `axis` by a plain loop.
func referenceMax(_ x: Tensor, axis: Int) -> Tensor {
    var outShape = x.shape
    outShape.remove(at: axis)
    var best = [Float](repeating: -.infinity, count: outShape.reduce(1, *))
    forEachIndex(x.shape) { linear, index in
        let o = outputOffset(index, shape: x.shape, dropping: [axis])
        best[o] = Swift.max(best[o], x.data[linear])
    }
    return Tensor(best, shape: outShape)
}

/// Calls `body(linearIndex, index)` for every element of `shape`, in row-major order.
func forEachIndex(_ shape: [Int], _ body: (Int, [Int]) -> Void) {
    var index = [Int](repeating: 0, count: shape.count)
    for linear in 0..<shape.reduce(1, *) {
        body(linear, index)
        var axis = shape.count - 1
        while axis >= 0 {
            index[axis] += 1
            if index[axis] < shape[axis] { break }
            index[axis] = 0
            axis -= 1
        }
    }
}

/// Row-major offset of `index` in `shape` with the `dropping` axes removed.
func outputOffset(_ index: [Int], shape: [Int], dropping: [Int]) -> Int {
    var offset = 0
    for axis in shape.indices where !dropping.contains(axis) { offset = offset * shape[axis] + index[axis] }
    return offset
}
