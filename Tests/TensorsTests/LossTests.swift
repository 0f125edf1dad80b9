import Tensors
import TestSupport
import XCTest

/// Cross-entropy, MSE and L1 against PyTorch (fixtures: scripts/make_fixtures.py). Scalar losses of order 1
/// summing at most 66 float32 terms, gradients of order 1/N: tolerances 1e-5 absolute + 1e-4 relative.
final class LossTests: XCTestCase {
    func testCrossEntropyWithIgnoredTargetMatchesTorch() throws {
        try checkAgainstTorch("cross_entropy") { fixture, inputs in
            crossEntropy(inputs["logits"]!, targets: try fixture.indices("targets"),
                         ignoreIndex: fixture.int("ignore_index")!)
        }
    }

    func testCrossEntropyWithLabelSmoothingMatchesTorch() throws {
        try checkAgainstTorch("cross_entropy_smooth") { fixture, inputs in
            crossEntropy(inputs["logits"]!, targets: try fixture.indices("targets"),
                         ignoreIndex: fixture.int("ignore_index")!, labelSmoothing: fixture.float("label_smoothing")!)
        }
    }

    func testSoftTargetCrossEntropyMatchesTorch() throws {
        try checkAgainstTorch("cross_entropy_soft") { fixture, inputs in
            crossEntropy(inputs["logits"]!, probabilities: try fixture.tensor("const.targets"))
        }
    }

    func testDistillationLossMatchesTorch() throws {
        for name in ["distillation_kl", "distillation_kl_3d"] {   // τ = 2 on (6, 11); τ = 0.5 on (2, 3, 13)
            try checkAgainstTorch(name) { fixture, inputs in
                distillationLoss(student: inputs["student"]!, teacher: try fixture.tensor("const.teacher"),
                                 temperature: fixture.float("temperature")!)
            }
        }
    }

    /// A cached teacher's top 4 of 11, renormalised at τ = 2, against the student's full softmax.
    func testTopKDistillationMatchesTorch() throws {
        try checkAgainstTorch("distillation_topk") { fixture, inputs in
            let ids = try fixture.tensor("const.indices")
            return topKDistillationLoss(student: inputs["student"]!, indices: IntTensor(ids.scalars.map { Int32($0) }, shape: ids.shape),
                                        logProbabilities: try fixture.tensor("const.log_probabilities"),
                                        temperature: fixture.float("temperature")!)
        }
    }

    /// With every token kept (k = C) the top-k loss is the full distillation loss.
    func testTopKDistillationWithEveryTokenIsTheFullLoss() {
        var generator = RandomGenerator(seed: 9)
        let student = Tensor.normal([3, 5], generator: &generator), teacher = Tensor.normal([3, 5], generator: &generator)
        let full = distillationLoss(student: student, teacher: teacher, temperature: 1.5).item
        let ids = IntTensor((0..<15).map { Int32($0 % 5) }, shape: [3, 5])
        let topK = topKDistillationLoss(student: student, indices: ids, logProbabilities: logSoftmax(teacher), temperature: 1.5).item
        XCTAssertEqual(topK, full, accuracy: 1e-5)
    }

    /// TinyBERT's hidden-state loss: MSE(h · Wᵀ, teacher) with a learned projection W; gradients to h and W.
    func testHiddenStateDistillationThroughAProjectionMatchesTorch() throws {
        try checkAgainstTorch("distillation_hidden_mse") { fixture, inputs in
            mseLoss(linear(inputs["hidden"]!, weight: inputs["projection"]!), try fixture.tensor("const.teacher"))
        }
    }

    /// MiniLM's attention loss: KL(teacher's causal attention ‖ student's) per (B, H, T) row, from q and k.
    func testAttentionDistributionDistillationMatchesTorch() throws {
        try checkAgainstTorch("distillation_attention_kl") { fixture, inputs in
            let teacher = attentionScores(query: try fixture.tensor("const.teacher_query"), key: try fixture.tensor("const.teacher_key"),
                                          causal: true)
            return distillationLoss(student: attentionScores(query: inputs["query"]!, key: inputs["key"]!, causal: true),
                                    teacher: teacher, temperature: 1)
        }
    }

    /// A student equal to its teacher has nothing to learn: the loss and its gradient are zero.
    func testDistillationLossOfTheTeacherItselfIsZero() {
        let logits = Tensor([0.5, -1, 2, 3, 0, -0.25], shape: [2, 3], requiresGrad: true)
        let loss = distillationLoss(student: logits, teacher: logits.copy(), temperature: 3)
        XCTAssertEqual(loss.item, 0, accuracy: 1e-6)
        loss.backward()
        for i in 0..<6 { XCTAssertEqual(logits.grad!.data[i], 0, accuracy: 1e-6) }
    }

    func testMSEMatchesTorch() throws {
        try checkAgainstTorch("mse") { fixture, inputs in mseLoss(inputs["x"]!, try fixture.tensor("const.target")) }
    }

    func testL1MatchesTorch() throws {
        try checkAgainstTorch("l1") { fixture, inputs in l1Loss(inputs["x"]!, try fixture.tensor("const.target")) }
    }

    /// torch returns nan here; we return 0, and backward still runs and leaves the logits' gradient at zero.
    func testCrossEntropyWithEveryTargetIgnoredIsZero() {
        let logits = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], requiresGrad: true)
        let loss = crossEntropy(logits, targets: IntTensor([-100, -100] as [Int], shape: [2]))
        XCTAssertEqual(loss.item, 0)
        loss.backward()
        XCTAssertEqual(logits.grad?.scalars ?? [Float](repeating: 0, count: 6), [Float](repeating: 0, count: 6))
    }

    func testCrossEntropyFlattensLeadingAxes() {
        var generator = RandomGenerator(seed: 1)
        let logits = Tensor.normal([2, 3, 5], generator: &generator)
        let targets: [Int] = [0, 4, -100, 2, 2, 1]
        let batched = crossEntropy(logits, targets: IntTensor(targets, shape: [2, 3]))
        let flat = crossEntropy(Tensor(logits.scalars, shape: [6, 5]), targets: IntTensor(targets, shape: [6]))
        XCTAssertEqual(batched.item, flat.item)
    }

    /// Enough rows to split over threads: the fused loss equals the mean of the picked log-softmax entries.
    func testFusedCrossEntropyEqualsMeanNegativeLogSoftmax() {
        var generator = RandomGenerator(seed: 5)
        let (n, c) = (600, 100)
        let logits = Tensor.normal([n, c], std: 2, generator: &generator)
        let targets = (0..<n).map { $0 % 7 == 0 ? -100 : generator.nextInt(below: c) }
        let logProbabilities = logSoftmax(logits)
        var total = 0.0, counted = 0
        for (row, target) in targets.enumerated() where target != -100 {
            total -= Double(logProbabilities.data[row * c + target])
            counted += 1
        }
        let loss = crossEntropy(logits, targets: IntTensor(targets, shape: [n]))
        XCTAssertEqual(Double(loss.item), total / Double(counted), accuracy: 1e-5)
    }

    func testCrossEntropyIsFiniteForLargeLogits() {
        let logits = Tensor([1000, 0, -1000, 5000], shape: [2, 2])
        let loss = crossEntropy(logits, targets: IntTensor([1, 0] as [Int], shape: [2]))
        // Row losses: 1000 − 0 = 1000 and 5000 − (−1000) = 6000.
        XCTAssertEqual(loss.item, (1000 + 6000) / 2, accuracy: 1e-3)
    }

    func testL1GradientAtZeroDifferenceIsZero() {
        let x = Tensor([1, 2, 3], shape: [3], requiresGrad: true)
        let target = Tensor([1, 0, 5], shape: [3], requiresGrad: true)
        l1Loss(x, target).backward()
        XCTAssertEqual(x.grad!.scalars, [0, 1.0 / 3, -1.0 / 3])
        XCTAssertEqual(target.grad!.scalars, [0, -1.0 / 3, 1.0 / 3])
    }

    func testCrossEntropyGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 2)
        let logits = Tensor.normal([4, 6], generator: &generator)
        let targets = IntTensor([3, -100, 0, 5] as [Int], shape: [4])
        XCTAssertLessThan(maxGradientError(inputs: [logits]) { crossEntropy($0[0], targets: targets) }, 1e-2)
        XCTAssertLessThan(maxGradientError(inputs: [logits]) {
            crossEntropy($0[0], targets: targets, labelSmoothing: 0.2)
        }, 1e-2)
    }

    func testSoftTargetCrossEntropyGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 3)
        let logits = Tensor.normal([4, 6], generator: &generator)
        let probabilities = softmax(Tensor.normal([4, 6], generator: &generator))
        XCTAssertLessThan(maxGradientError(inputs: [logits, probabilities]) {
            crossEntropy($0[0], probabilities: $0[1])
        }, 1e-2)
    }

    func testRegressionLossGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 4)
        let x = Tensor.normal([3, 5], generator: &generator)
        let target = Tensor.normal([3, 5], generator: &generator)
        XCTAssertLessThan(maxGradientError(inputs: [x, target]) { mseLoss($0[0], $0[1]) }, 1e-2)
        // |x − target| > step everywhere, so the finite differences never straddle the kink.
        for i in 0..<x.count where abs(x.data[i] - target.data[i]) < 0.1 { target.data[i] += 0.5 }
        XCTAssertLessThan(maxGradientError(inputs: [x, target]) { l1Loss($0[0], $0[1]) }, 1e-2)
    }
}

/// The chunked output projection + cross-entropy equals the two ops it fuses, in value and gradients, for chunk
/// sizes that divide the rows and that do not, with ignored rows, a bias, and an upstream gradient other than 1.
final class LinearCrossEntropyTests: XCTestCase {
    func testMatchesLinearThenCrossEntropy() {
        for chunk in [1, 4, 7, 64] {
            var generator = RandomGenerator(seed: UInt64(chunk))
            func leaves() -> [Tensor] {
                var copy = generator
                return [Tensor.normal([2, 5, 8], generator: &copy, requiresGrad: true),
                        Tensor.normal([11, 8], generator: &copy, requiresGrad: true),
                        Tensor.normal([11], generator: &copy, requiresGrad: true)]
            }
            let targetValues: [Int32] = [3, -100, 10, 0, 5, 5, -100, 1, 2, 7]
            let targets = IntTensor(targetValues, shape: [2, 5])
            _ = generator.nextFloat()
            let fused = leaves()
            let loss = linearCrossEntropy(fused[0], weight: fused[1], bias: fused[2], targets: targets, chunkRows: chunk)
            (loss * 1.7).backward()
            let separate = leaves()
            let reference = crossEntropy(linear(separate[0], weight: separate[1], bias: separate[2]), targets: targets)
            (reference * 1.7).backward()
            XCTAssertEqual(loss.item, reference.item, accuracy: 1e-5, "chunk \(chunk)")
            for (index, name) in ["hidden", "weight", "bias"].enumerated() {
                assertClose(fused[index].grad!, separate[index].grad!, atol: 1e-6, rtol: 1e-5, "d\(name), chunk \(chunk)")
            }
        }
    }

    func testAllRowsIgnoredGivesZeroAndNoGradient() {
        let hidden = Tensor([1, 2, 3, 4], shape: [2, 2], requiresGrad: true)
        let weight = Tensor([1, 0, 0, 1, 1, 1], shape: [3, 2], requiresGrad: true)
        let loss = linearCrossEntropy(hidden, weight: weight, targets: IntTensor([-100, -100], shape: [2]))
        XCTAssertEqual(loss.item, 0)
        loss.backward()
        XCTAssertEqual(hidden.grad?.scalars ?? [0, 0, 0, 0], [0, 0, 0, 0])
        XCTAssertEqual(weight.grad?.scalars ?? [Float](repeating: 0, count: 6), [Float](repeating: 0, count: 6))
    }
}
