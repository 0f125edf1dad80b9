import Foundation
import Layers
import Optimizers
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// SGD and AdamW against torch.optim on a fixed gradient sequence (scripts/make_optimizer_fixtures.py).
/// Tolerance 1e-6 absolute + 1e-5 relative: the same float32 formulas, evaluated in the same order.
final class OptimizerTests: XCTestCase {
    static let fixture = fixtureURL("LayersTests", "optimizers.safetensors")

    func run(_ make: ([ParameterGroup]) -> Optimizer, expecting config: String) throws {
        let file = try SafeTensorsFile(contentsOf: OptimizerTests.fixture)
        func tensor(_ key: String) throws -> Tensor { try file.tensor(key) }
        let weight = try tensor("init.weight"), bias = try tensor("init.bias")
        weight.requiresGrad = true
        bias.requiresGrad = true
        let optimizer = make([ParameterGroup(parameters: [("weight", weight)], weightDecay: 0.01),
                              ParameterGroup(parameters: [("bias", bias)], weightDecay: 0)])
        for step in 0..<5 {
            if step == 3 { optimizer.learningRate *= 0.5 }
            weight.grad = try tensor("grad.\(step).weight")
            bias.grad = try tensor("grad.\(step).bias")
            optimizer.step()
        }
        for (name, parameter) in [("weight", weight), ("bias", bias)] {
            let expected = try tensor("\(config).\(name)")
            for i in 0..<parameter.count {
                XCTAssertEqual(parameter.data[i], expected.data[i], accuracy: 1e-6 + 1e-5 * abs(expected.data[i]),
                               "\(config) \(name)[\(i)]")
            }
        }
    }

    func testSGDMatchesTorch() throws {
        try run({ SGD(groups: $0, learningRate: 0.1) }, expecting: "sgd")
        try run({ SGD(groups: $0, learningRate: 0.1, momentum: 0.9) }, expecting: "sgd_momentum")
        try run({ SGD(groups: $0, learningRate: 0.1, momentum: 0.9, nesterov: true) }, expecting: "sgd_nesterov")
    }

    func testAdamWMatchesTorch() throws {
        try run({ AdamW(groups: $0, learningRate: 0.01, beta1: 0.9, beta2: 0.95) }, expecting: "adamw")
    }

    func testClippingScalesToMaxNormAndReturnsNormBefore() {
        let a = Tensor([3, 4], shape: [2], requiresGrad: true)
        a.grad = Tensor([3, 4], shape: [2])
        let norm = clipGradNorm([a], maxNorm: 1)
        XCTAssertEqual(norm, 5, accuracy: 1e-6)
        XCTAssertEqual(a.grad!.scalars[0], 0.6, accuracy: 1e-5)
        XCTAssertEqual(a.grad!.scalars[1], 0.8, accuracy: 1e-5)
        XCTAssertEqual(clipGradNorm([a], maxNorm: 10), 1, accuracy: 1e-5, "below the limit: unchanged")
    }

    /// The blocked, parallel sum of squares equals a plain Double loop (to rounding) and does not depend on the
    /// thread count, for sizes around the block edges.
    func testGradientNormIsThePlainSumAndTheSameForEveryThreadCount() {
        var generator = RandomGenerator(seed: 21)
        let sizes = [1, 7, 16_384, 16_385, 100_003, 300_000]
        let parameters = sizes.map { size -> Tensor in
            let p = Tensor(zeros: [size], requiresGrad: true)
            p.grad = Tensor.normal([size], generator: &generator)
            return p
        }
        var plain = 0.0
        for p in parameters { for i in 0..<p.count { plain += Double(p.grad!.data[i]) * Double(p.grad!.data[i]) } }
        let threads = Runtime.threads
        defer { Runtime.configure(threads: threads) }
        var results: [Double] = []
        for count in [1, 2, 3] {
            Runtime.configure(threads: count)
            results.append(gradientSquaredNorm(parameters))
        }
        XCTAssertEqual(results[0], plain, accuracy: plain * 1e-12)
        XCTAssertEqual(Set(results).count, 1, "\(results)")
    }

    /// The multi-tensor AdamW (chunks across parameters, vector lanes) equals the scalar formula bit for bit, over
    /// chunk edges, odd tails and two groups; and folding clipping's coefficient into the update equals rescaling
    /// the gradients first (AdamW and SGD), bit for bit.
    func testMultiTensorAdamWIsTheScalarFormulaAndFoldsClipping() {
        func parameters(seed: UInt64) -> [(name: String, tensor: Tensor)] {
            var generator = RandomGenerator(seed: seed)
            return [70_001, 3, 40_000].enumerated().map { index, size in
                let p = Tensor.normal([size], generator: &generator, requiresGrad: true)
                p.grad = Tensor.normal([size], generator: &generator)
                return ("p\(index)", p)
            }
        }
        let (lr, b1, b2, eps): (Float, Float, Float, Float) = (0.01, 0.9, 0.95, 1e-8)
        func groups(_ named: [(name: String, tensor: Tensor)]) -> [ParameterGroup] {
            [ParameterGroup(parameters: [named[0], named[2]], weightDecay: 0.1),
             ParameterGroup(parameters: [named[1]], weightDecay: 0, learningRateScale: 0.5)]
        }
        let folded = parameters(seed: 3), rescaled = parameters(seed: 3), scalar = parameters(seed: 3)
        let foldedOptimizer = AdamW(groups: groups(folded), learningRate: lr, beta1: b1, beta2: b2, epsilon: eps)
        let rescaledOptimizer = AdamW(groups: groups(rescaled), learningRate: lr, beta1: b1, beta2: b2, epsilon: eps)
        let coefficient: Float = 0.37
        var moments = scalar.map { ([Float](repeating: 0, count: $0.tensor.count), [Float](repeating: 0, count: $0.tensor.count)) }
        for step in 1...3 {
            foldedOptimizer.step(gradientScale: coefficient)
            let original = rescaled.map { $0.tensor.grad!.scalars }
            for (_, p) in rescaled { for i in 0..<p.count { p.grad!.data[i] *= coefficient } }
            rescaledOptimizer.step()
            for (index, (_, p)) in rescaled.enumerated() { p.grad = Tensor(original[index], shape: p.shape) }
            // torch.optim.AdamW's update, one element at a time.
            let correction1 = 1 - pow(b1, Float(step)), correction2Root = (1 - pow(b2, Float(step))).squareRoot()
            for (index, (_, p)) in scalar.enumerated() {
                let (decayRate, scale): (Float, Float) = index == 1 ? (0, 0.5) : (0.1, 1)
                let rate = lr * scale
                for i in 0..<p.count {
                    let g = p.grad!.data[i] * coefficient
                    p.data[i] *= 1 - rate * decayRate
                    moments[index].0[i] = b1 * moments[index].0[i] + (1 - b1) * g
                    moments[index].1[i] = b2 * moments[index].1[i] + (1 - b2) * g * g
                    p.data[i] -= rate / correction1 * moments[index].0[i] / (moments[index].1[i].squareRoot() / correction2Root + eps)
                }
            }
        }
        for index in 0..<3 {
            XCTAssertEqual(folded[index].tensor.scalars, rescaled[index].tensor.scalars, "folded vs rescaled, p\(index)")
            XCTAssertEqual(folded[index].tensor.scalars, scalar[index].tensor.scalars, "vector vs scalar, p\(index)")
        }
        let sgdFolded = parameters(seed: 4), sgdRescaled = parameters(seed: 4)
        SGD(groups: groups(sgdFolded), learningRate: 0.1, momentum: 0.9).step(gradientScale: coefficient)
        for (_, p) in sgdRescaled { for i in 0..<p.count { p.grad!.data[i] *= coefficient } }
        SGD(groups: groups(sgdRescaled), learningRate: 0.1, momentum: 0.9).step()
        for index in 0..<3 { XCTAssertEqual(sgdFolded[index].tensor.scalars, sgdRescaled[index].tensor.scalars, "SGD p\(index)") }
    }

    func testNonFiniteNormLeavesGradientsUntouched() {
        let a = Tensor([1, 2], shape: [2], requiresGrad: true)
        a.grad = Tensor([Float.nan, 4], shape: [2])
        XCTAssertTrue(clipGradNorm([a], maxNorm: 1).isNaN)
        XCTAssertEqual(a.grad!.scalars[1], 4)
    }

    func testAdamWStateRoundTripsAndRejectsWrongShapes() throws {
        let w = Tensor([1, 2, 3, 4], shape: [2, 2], requiresGrad: true)
        let optimizer = AdamW(groups: [ParameterGroup(parameters: [("w", w)], weightDecay: 0)], learningRate: 0.1)
        w.grad = Tensor([1, -1, 0.5, 2], shape: [2, 2])
        optimizer.step()
        let state = optimizer.stateTensors()
        let copy = AdamW(groups: [ParameterGroup(parameters: [("w", w)], weightDecay: 0)], learningRate: 0.1)
        try copy.loadState(state, stepCount: optimizer.stepCount)
        XCTAssertEqual(copy.stateTensors()["exp_avg.w"]!.scalars, state["exp_avg.w"]!.scalars)
        XCTAssertEqual(copy.stepCount, 1)
        XCTAssertThrowsError(try copy.loadState(["exp_avg.w": Tensor(zeros: [3])], stepCount: 1)) { error in
            XCTAssertTrue("\(error)".contains("exp_avg.w"), "\(error)")
        }
    }
}
