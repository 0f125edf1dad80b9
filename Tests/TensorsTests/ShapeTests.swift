import Tensors
import TestSupport
import XCTest

/// Reshape, transpose, permute, slice, concat and split against PyTorch (fixtures: scripts/make_fixtures.py).
/// They only move values, so outputs and gradients must match exactly (gradients are single additions of
/// grad_out into zeroed buffers): tolerances 0.
final class ShapeTests: XCTestCase {
    func testReshapeMatchesTorch() throws {
        try checkAgainstTorch("reshape", atol: 0, rtol: 0, gradAtol: 0, gradRtol: 0) { fixture, inputs in
            inputs["x"]!.reshaped(fixture.ints("shape"))
        }
    }

    func testReshapeInfersOneDimension() {
        let x = Tensor.normal([2, 3, 4])
        XCTAssertEqual(x.reshaped([-1, 4]).shape, [6, 4])
        XCTAssertEqual(x.reshaped([2, -1]).shape, [2, 12])
        XCTAssertEqual(x.reshaped([24]).shape, [24])
    }

    func testReshapeIsAViewOfTheSameStorage() {
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let y = x.reshaped([3, 2])
        XCTAssertTrue(y.storage === x.storage)
        x.data[5] = 60
        XCTAssertEqual(y.scalars, [1, 2, 3, 4, 5, 60])
    }

    /// The view has a gradient buffer of its own; its backward adds into the input's.
    func testReshapeBackwardAccumulatesIntoInputGradient() {
        let x = Tensor([1, 2, 3, 4], shape: [2, 2], requiresGrad: true)
        let y = x.reshaped([4])
        let loss = sum(y * Tensor([1, 2, 3, 4], shape: [4])) + sum(x)
        loss.backward()
        XCTAssertEqual(x.grad!.scalars, [2, 3, 4, 5])
    }

    func testTransposeMatchesTorch() throws {
        try checkAgainstTorch("transpose", atol: 0, rtol: 0, gradAtol: 0, gradRtol: 0) { fixture, inputs in
            inputs["x"]!.transposed(fixture.int("axis0")!, fixture.int("axis1")!)
        }
    }

    func testPermuteMatchesTorch() throws {
        try checkAgainstTorch("permute", atol: 0, rtol: 0, gradAtol: 0, gradRtol: 0) { fixture, inputs in
            inputs["x"]!.permuted(fixture.ints("perm"))
        }
    }

    /// Large enough to run in parallel: the attention layout swap (rows copied whole), a last-axis move
    /// (tiled, with partial tiles), a full reversal and an identity.
    func testPermuteMatchesPlainLoopsOnLargeShapes() {
        var generator = RandomGenerator(seed: 4)
        let x = Tensor.normal([3, 37, 9, 70], generator: &generator)
        for axes in [[0, 2, 1, 3], [0, 1, 3, 2], [3, 2, 1, 0], [2, 3, 0, 1], [0, 1, 2, 3]] {
            assertClose(x.permuted(axes), referencePermute(x, axes), atol: 0, rtol: 0, "permutation \(axes)")
        }
    }

    func testPermuteBackwardAppliesTheInversePermutation() {
        var generator = RandomGenerator(seed: 5)
        let x = Tensor.normal([3, 37, 9, 70], generator: &generator, requiresGrad: true)
        let y = x.permuted([1, 3, 0, 2])
        let seed = Tensor.normal(y.shape, generator: &generator)
        Autograd.backward(y, seed: seed)
        // [2, 0, 3, 1] undoes [1, 3, 0, 2].
        assertClose(x.grad!, referencePermute(seed, [2, 0, 3, 1]), atol: 0, rtol: 0, "gradient")
    }

    func testSliceMatchesTorch() throws {
        try checkAgainstTorch("slice", atol: 0, rtol: 0, gradAtol: 0, gradRtol: 0) { fixture, inputs in
            slice(inputs["x"]!, axis: fixture.int("axis")!, range: fixture.int("start")!..<fixture.int("end")!)
        }
    }

    func testSliceOfLeadingAxisIsAView() {
        let x = Tensor([0, 1, 2, 3, 4, 5, 6, 7], shape: [4, 2], requiresGrad: true)
        let y = slice(x, axis: 0, range: 1..<3)
        XCTAssertTrue(y.storage === x.storage)
        XCTAssertEqual(y.scalars, [2, 3, 4, 5])
        Autograd.backward(y, seed: Tensor([1, 2, 3, 4], shape: [2, 2]))
        XCTAssertEqual(x.grad!.scalars, [0, 0, 1, 2, 3, 4, 0, 0])
    }

    func testConcatMatchesTorch() throws {
        try checkAgainstTorch("concat", atol: 0, rtol: 0, gradAtol: 0, gradRtol: 0) { fixture, inputs in
            concat([inputs["a"]!, inputs["b"]!], axis: fixture.int("axis")!)
        }
    }

    func testConcatGivesGradientsOnlyToInputsThatNeedThem() {
        let a = Tensor([1, 2], shape: [1, 2], requiresGrad: true)
        let b = Tensor([3, 4], shape: [1, 2])
        let y = concat([a, b], axis: 0)
        XCTAssertEqual(y.scalars, [1, 2, 3, 4])
        Autograd.backward(y, seed: Tensor([5, 6, 7, 8], shape: [2, 2]))
        XCTAssertEqual(a.grad!.scalars, [5, 6])
        XCTAssertNil(b.grad)
    }

    /// Two outputs, so the harness's single out/grad_out does not apply: the loss Σ out₀·g₀ + Σ out₁·g₁
    /// has gradient g_i on piece i.
    func testSplitMatchesTorch() throws {
        let fixture = try OpFixture("split")
        let x = try fixture.tensor("in.x", requiresGrad: true)
        let pieces = split(x, sizes: fixture.ints("sizes"), axis: fixture.int("axis")!)
        XCTAssertEqual(pieces.count, 2)
        var loss: Tensor?
        for (i, piece) in pieces.enumerated() {
            assertClose(piece, try fixture.tensor("out.\(i)"), atol: 0, rtol: 0, "split out.\(i)")
            let term = sum(piece * (try fixture.tensor("grad_out.\(i)")))
            loss = loss.map { $0 + term } ?? term
        }
        loss!.backward()
        assertClose(x.grad!, try fixture.tensor("grad.x"), atol: 1e-6, rtol: 1e-6, "split grad of x")
    }

    func testShapeGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 6)
        let x = Tensor.normal([2, 3, 4], generator: &generator)
        let y = Tensor.normal([2, 2, 4], generator: &generator)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { $0[0].reshaped([4, -1]) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { $0[0].transposed(0, 2) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { $0[0].permuted([1, 2, 0]) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { slice($0[0], axis: 1, range: 1..<3) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { slice($0[0], axis: 0, range: 1..<2) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x, y]) { concat($0, axis: 1) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { inputs in
            let pieces = split(inputs[0], sizes: [1, 3], axis: 2)
            return sum(pieces[0]) * 2 + sum(pieces[1] * pieces[1])
        }, 1e-2)
    }
}

/// The fused head layout ops equal split + reshape + permute (and permute + reshape) exactly, forward and backward,
/// with parts that receive different upstream gradients.
final class HeadsTests: XCTestCase {
    func testSplitHeadsEqualsSplitReshapePermute() {
        var generator = RandomGenerator(seed: 6)
        let (b, t, h, d) = (3, 37, 4, 9)
        for parts in [1, 3] {
            let x = Tensor.normal([b, t, parts * h * d], generator: &generator, requiresGrad: true)
            let seeds = (0..<parts).map { _ in Tensor.normal([b, h, t, d], generator: &generator) }
            let fused = splitHeads(x, parts: parts, heads: h)
            for (piece, seed) in zip(fused, seeds) { Autograd.backward(piece, seed: seed) }
            let fusedGrad = x.grad!
            x.grad = nil
            let composed = split(x, sizes: Array(repeating: h * d, count: parts), axis: -1).map {
                $0.reshaped([b, t, h, d]).permuted([0, 2, 1, 3])
            }
            for (piece, seed) in zip(composed, seeds) { Autograd.backward(piece, seed: seed) }
            for part in 0..<parts { assertClose(fused[part], composed[part], atol: 0, rtol: 0, "part \(part) of \(parts)") }
            assertClose(fusedGrad, x.grad!, atol: 0, rtol: 0, "gradient, \(parts) parts")
        }
    }

    func testMergeHeadsEqualsPermuteReshape() {
        var generator = RandomGenerator(seed: 7)
        let x = Tensor.normal([2, 5, 33, 8], generator: &generator, requiresGrad: true)
        let seed = Tensor.normal([2, 33, 40], generator: &generator)
        let fused = mergeHeads(x)
        Autograd.backward(fused, seed: seed)
        let fusedGrad = x.grad!
        x.grad = nil
        let composed = x.permuted([0, 2, 1, 3]).reshaped([2, 33, 40])
        Autograd.backward(composed, seed: seed)
        assertClose(fused, composed, atol: 0, rtol: 0, "values")
        assertClose(fusedGrad, x.grad!, atol: 0, rtol: 0, "gradient")
    }
}

/// Output axis k is input axis axes[k], by a plain loop over every input element.
func referencePermute(_ x: Tensor, _ axes: [Int]) -> Tensor {
    let outShape = axes.map { x.shape[$0] }
    var values = [Float](repeating: 0, count: x.count)
    forEachIndex(x.shape) { linear, index in
        var offset = 0
        for k in axes.indices { offset = offset * outShape[k] + index[axes[k]] }
        values[offset] = x.data[linear]
    }
    return Tensor(values, shape: outShape)
}
