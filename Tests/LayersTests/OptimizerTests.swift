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
