import Tensors
import XCTest

/// The tape's contract: accumulation, noGrad, frozen tensors, reuse of a tensor, tape clean-up.
final class AutogradTests: XCTestCase {
    func testGradientsAccumulateOverMicroBatchesLikeOneBatch() {
        var generator = RandomGenerator(seed: 3)
        let w = Tensor.normal([4, 3], generator: &generator, requiresGrad: true)
        let x = Tensor.normal([6, 4], generator: &generator)
        // One batch of 6 rows, loss = sum(x·w) / 2 ...
        (sum(matmul(x, w)) * 0.5).backward()
        let whole = w.grad!.scalars
        w.zeroGrad()
        // ... equals two micro-batches of 3 rows each, backpropagated one after the other.
        for half in 0..<2 {
            (sum(matmul(slice(x, axis: 0, range: half * 3..<half * 3 + 3), w)) * 0.5).backward()
        }
        for (a, b) in zip(w.grad!.scalars, whole) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testNoGradRecordsNothing() {
        let w = Tensor([1, 2], shape: [2], requiresGrad: true)
        let y = noGrad { w * w }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertEqual(Autograd.pendingOps, 0)
    }

    func testFrozenTensorGetsNoGradient() {
        let frozen = Tensor([1, 2], shape: [2])
        let trained = Tensor([3, 4], shape: [2], requiresGrad: true)
        sum(frozen * trained).backward()
        XCTAssertNil(frozen.grad)
        XCTAssertEqual(trained.grad!.scalars, [1, 2])
    }

    func testTensorUsedTwiceSumsItsGradients() {
        let x = Tensor([3], shape: [1], requiresGrad: true)
        sum(x * x + x).backward()  // d/dx (x² + x) = 2x + 1
        XCTAssertEqual(x.grad!.item, 7)
    }

    func testBackwardClearsTheTape() {
        let x = Tensor([1, 2], shape: [2], requiresGrad: true)
        let loss = sum(exp(x))
        XCTAssertGreaterThan(Autograd.pendingOps, 0)
        loss.backward()
        XCTAssertEqual(Autograd.pendingOps, 0)
    }

    func testDiscardTapeDropsAGraphWithoutGradients() {
        let x = Tensor([1, 2], shape: [2], requiresGrad: true)
        _ = sum(x * 2)
        Autograd.discardTape()
        XCTAssertEqual(Autograd.pendingOps, 0)
        XCTAssertNil(x.grad)
    }

    func testSameSeedGivesSameDrawsWhateverTheThreadCount() {
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42)
        let first = Tensor.normal([1000], generator: &a).scalars
        Runtime.configure(threads: 1)
        let second = Tensor.normal([1000], generator: &b).scalars
        Runtime.configure(threads: 2)
        XCTAssertEqual(first, second)
        var c = RandomGenerator(seed: 43)
        XCTAssertNotEqual(Tensor.normal([1000], generator: &c).scalars, first)
    }

    func testRandomDistributionsHaveTheirMoments() {
        var generator = RandomGenerator(seed: 9)
        let normal = Tensor.normal([100_000], mean: 1, std: 2, generator: &generator).scalars
        let mean = normal.reduce(0, +) / Float(normal.count)
        let variance = normal.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(normal.count)
        XCTAssertEqual(mean, 1, accuracy: 0.03)
        XCTAssertEqual(variance.squareRoot(), 2, accuracy: 0.03)
        let uniform = Tensor.uniform([100_000], low: -1, high: 3, generator: &generator).scalars
        XCTAssertTrue(uniform.allSatisfy { $0 >= -1 && $0 < 3 })
        XCTAssertEqual(uniform.reduce(0, +) / Float(uniform.count), 1, accuracy: 0.03)
        let coin = Tensor.bernoulli([100_000], p: 0.3, generator: &generator).scalars
        XCTAssertEqual(coin.reduce(0, +) / Float(coin.count), 0.3, accuracy: 0.01)
    }

    func testBufferPoolReusesBuffersInSteadyState() {
        // A repeated forward/backward allocates nothing new after the first round.
        let w = Tensor.uniform([64, 64], requiresGrad: true)
        let x = Tensor.uniform([32, 64])
        func step() { sum(gelu(matmul(x, w))).backward(); w.zeroGrad() }
        step()
        let before = BufferPool.shared.allocations
        for _ in 0..<5 { step() }
        XCTAssertEqual(BufferPool.shared.allocations, before)
    }

    /// Large buffers come in eight sizes per doubling: a tensor a little smaller than one freed before reuses its
    /// buffer (batches padded to different lengths), and no class is more than 12.5 % above what was asked.
    func testBufferPoolSizeClassesLetNearbySizesShareBuffers() {
        XCTAssertEqual(BufferPool.slots(100), 100)
        XCTAssertEqual(BufferPool.slots(16_384), 16_384)
        XCTAssertEqual(BufferPool.slots(16_385), 18_432)                // 16,384 + 2,048
        XCTAssertEqual(BufferPool.slots(1 << 20), 1 << 20)
        for count in stride(from: 16_385, to: 3_000_000, by: 9_973) {
            let slots = BufferPool.slots(count)
            XCTAssertGreaterThanOrEqual(slots, count)
            XCTAssertLessThanOrEqual(Double(slots), 1.125 * Double(count), "\(count)")
        }
        _ = Tensor(zeros: [8, 100_000])                                   // freed at once: its buffer is cached
        let before = BufferPool.shared.allocations
        let smaller = Tensor(zeros: [8, 98_750])                          // both in the class of 851,968 floats
        XCTAssertEqual(BufferPool.slots(800_000), BufferPool.slots(790_000))
        XCTAssertEqual(BufferPool.shared.allocations, before, "the 800,000-float buffer serves 790,000 floats")
        XCTAssertEqual(smaller.count, 790_000)
    }
}

/// Backward frees what it no longer needs: an intermediate's gradient is gone once its op has propagated it,
/// unless the tensor asked to keep it (torch's retain_grad).
final class AutogradMemoryTests: XCTestCase {
    func testIntermediateGradientsAreFreedUnlessRetained() {
        let x = Tensor([1, 2, 3], shape: [3], requiresGrad: true)
        let hidden = x * x
        let kept = hidden * 2
        kept.retainsGrad = true
        sum(kept + hidden).backward()
        XCTAssertNil(hidden.grad, "an intermediate's gradient is freed after its op ran")
        XCTAssertEqual(kept.grad?.scalars, [1, 1, 1], "a retained intermediate keeps its gradient")
        XCTAssertEqual(x.grad!.scalars, [6, 12, 18], "d/dx (2x² + x²) = 6x")
    }

    func testSavedActivationsAreReleasedDuringBackward() {
        // The op's saved input is referenced only by the tape once the caller drops it; backward must release it.
        weak var released: Tensor?
        let w = Tensor([2], shape: [1], requiresGrad: true)
        var loss: Tensor?
        do {
            let activation = w * 3
            released = activation
            loss = sum(activation * activation)
        }
        XCTAssertNotNil(released, "the tape keeps the activation alive until backward")
        loss!.backward()
        XCTAssertNil(released, "backward dropped the activation")
        XCTAssertEqual(w.grad!.item, 36, "d/dw (3w)² = 18w")
    }
}

/// `OpProfiler`: ops charged by the file that defines them, forward and backward, only while it is on.
final class OpProfilerTests: XCTestCase {
    func testOpsAreChargedByKindWhileOn() {
        var generator = RandomGenerator(seed: 1)
        let a = Tensor.normal([8, 16], std: 1, generator: &generator, requiresGrad: true)
        let b = Tensor.normal([16, 4], std: 1, generator: &generator, requiresGrad: true)
        OpProfiler.start()
        OpProfiler.mark()
        let loss = sum(matmul(a, b))
        loss.backward()
        OpProfiler.charge("optimizer") { _ = a.count }
        OpProfiler.stop()
        XCTAssertEqual(Set(OpProfiler.forward.keys), ["gemm", "reduce"])
        XCTAssertEqual(Set(OpProfiler.backward.keys), ["gemm", "reduce"])
        XCTAssertEqual(Set(OpProfiler.other.keys).subtracting(["allocation (inside the ops above)"]), ["optimizer"])
        let before = OpProfiler.forward
        sum(matmul(a, b)).backward()
        XCTAssertEqual(OpProfiler.forward, before, "nothing charged while off")
    }
}
