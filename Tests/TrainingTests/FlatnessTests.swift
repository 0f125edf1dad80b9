import Foundation
import Layers
import Objectives
import SafeTensors
import Tensors
import TestSupport
import Training
import XCTest

/// Flatness of the pre-training loss against PyTorch: the tiny GPT of scripts/make_hvp_fixtures.py (1 layer × 8,
/// vocabulary 16, context 8, 1080 parameters, after 150 AdamW steps), its causal-LM loss over two fixed batches of
/// 4 and 2 windows, and torch's exact references in float64 — `torch.autograd.functional.hvp` for three directions
/// (Rademacher, Gaussian, the top eigenvector), the full Hessian's trace and its eigenvalues.
///
/// Tolerances, against the float64 references (ε = 1e-3·‖θ‖/‖v‖, the default): a central-difference product within
/// 5e-4 of ‖Hv‖ (the error's norm, relative) along the Rademacher and Gaussian vectors, where float32 rounding of
/// the gradients dominates (measured 6e-5, 9e-5), and within 2e-3 along the top eigenvector, where the O(ε²)
/// truncation does (measured 7e-4: all of the step goes into the most curved direction); Hutchinson's 95 % interval
/// of 100 draws contains the exact trace and is narrower than 10 % of it on each side; power iteration's eigenvalue
/// within 0.5 % of torch's top eigenvalue (measured 0.06 %, the products' truncation error along that direction).
final class FlatnessTests: XCTestCase {
    struct Fixture {
        let file: SafeTensorsFile
        let model: GPTModel
        let objective: CausalLanguageModeling
        let batches: [IntTensor]

        /// The fixture's per-parameter tensors `prefix.<name>` concatenated in the order of θ (trainable parameters).
        func flat(_ prefix: String) throws -> [Float] {
            try model.namedParameters().filter { $0.tensor.requiresGrad }.flatMap { try file.floats("\(prefix).\($0.name)").values }
        }

        func metadata(_ key: String) throws -> Double { try XCTUnwrap(file.metadata[key].flatMap(Double.init), key) }
    }

    func loadFixture(dropout: Float = 0) throws -> Fixture {
        let file = try SafeTensorsFile(contentsOf: fixtureURL("TrainingTests", "hvp.safetensors"))
        func setting(_ key: String) throws -> Int { try XCTUnwrap(file.metadata[key].flatMap(Int.init), key) }
        var generator = RandomGenerator(seed: 0)
        let model = GPTModel(GPTConfig(vocabSize: try setting("vocab_size"), contextLength: try setting("context"),
                                       layers: try setting("layers"), dModel: try setting("d_model"), heads: try setting("heads"),
                                       dropout: dropout), generator: &generator)
        try model.load(try file.tensors(prefix: "param."))
        let batches = try file.names.filter { $0.hasPrefix("batch.") }.sorted().map { try file.intTensor($0) }
        XCTAssertEqual(batches.map { $0.shape[0] }, [4, 2], "two batches of different sizes")
        return Fixture(file: file, model: model, objective: CausalLanguageModeling(model: model), batches: batches)
    }

    /// ‖a − b‖ / ‖b‖.
    func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) }.squareRoot() / FlatVector.norm(b)
    }

    func testTheLossOfTheFixedBatchesIsTorchsWeightedMean() throws {
        let fixture = try loadFixture()
        let loss = FixedBatchLoss(objective: fixture.objective, batches: fixture.batches)
        XCTAssertEqual(loss.dimension, Int(try fixture.metadata("parameters")))
        XCTAssertEqual(loss.predicted, [32, 16])
        XCTAssertEqual(loss.initialValue, try fixture.metadata("loss"), accuracy: 1e-5)
    }

    func testCentralDifferenceProductsMatchTorchsHessianVectorProducts() throws {
        let fixture = try loadFixture()
        let hessian = HessianVectorProduct(loss: FixedBatchLoss(objective: fixture.objective, batches: fixture.batches))
        for (k, (direction, tolerance)) in [("Rademacher", 5e-4), ("Gaussian", 5e-4), ("top eigenvector", 2e-3)].enumerated() {
            let expected = try fixture.flat("hvp.\(k)")
            let actual = hessian.apply(try fixture.flat("vector.\(k)"))
            let error = relativeError(actual, expected)
            print("flatness: Hv along the \(direction) vector: relative error \(String(format: "%.2e", error)) against torch")
            XCTAssertLessThan(error, tolerance, "‖Hv − torch‖ / ‖torch‖ along the \(direction) vector")
            let scale = expected.map(abs).max() ?? 0
            assertClose(actual, expected, atol: 2e-3 * scale, rtol: 0, "Hv along the \(direction) vector")
        }
        XCTAssertEqual(hessian.gradientEvaluations, 6, "two gradients per product")
    }

    func testHutchinsonIntervalContainsTheExactTrace() throws {
        let fixture = try loadFixture()
        let hessian = HessianVectorProduct(loss: FixedBatchLoss(objective: fixture.objective, batches: fixture.batches))
        let trace = try fixture.metadata("trace")
        let estimate = HutchinsonTrace.estimate(dimension: hessian.dimension, samples: 100, seed: 11, product: hessian.apply)
        print("flatness: Hutchinson 100 draws \(estimate.mean) ± \(estimate.halfWidth) [\(estimate.lower), \(estimate.upper)], "
              + "exact trace \(trace); sd \(estimate.standardDeviation), theory \(try fixture.metadata("hutchinson_variance").squareRoot())")
        XCTAssertLessThanOrEqual(estimate.lower, trace, "the 95 % interval contains the exact trace")
        XCTAssertGreaterThanOrEqual(estimate.upper, trace, "the 95 % interval contains the exact trace")
        XCTAssertLessThan(estimate.halfWidth, 0.1 * abs(trace), "the interval is not trivially wide")
        // One draw's spread is √(2 Σ_{i≠j} H_ij²); 100 near-normal draws estimate it to about 7 % (1/√(2S)), 0.35 is 5 of those.
        XCTAssertEqual(estimate.standardDeviation, try fixture.metadata("hutchinson_variance").squareRoot(),
                       accuracy: 0.35 * (try fixture.metadata("hutchinson_variance").squareRoot()))
    }

    func testPowerIterationFindsTheTopEigenvalue() throws {
        let fixture = try loadFixture()
        let hessian = HessianVectorProduct(loss: FixedBatchLoss(objective: fixture.objective, batches: fixture.batches))
        let exact = try fixture.metadata("top_eigenvalue")
        let eigenvalues = try fixture.file.floats("eigenvalues").values
        XCTAssertEqual(Double(eigenvalues.last!), exact, accuracy: 1e-5 * exact, "the top eigenvalue is the largest in magnitude")
        let top = TopEigenvalue.estimate(dimension: hessian.dimension, iterations: 300, tolerance: 1e-6, seed: 3,
                                         product: hessian.apply)
        print("flatness: power iteration \(top.eigenvalue) after \(top.iterations) products "
              + "(last relative change \(top.relativeChange ?? .nan)), exact \(exact)")
        XCTAssertTrue(top.converged)
        XCTAssertEqual(top.eigenvalue, exact, accuracy: 5e-3 * exact)
    }

    func testParametersModeAndGradientsAreRestoredBitwise() throws {
        let fixture = try loadFixture(dropout: 0.5)
        let before = fixture.model.namedParameters().map { ($0.name, $0.tensor.scalars.map(\.bitPattern)) }
        let held = fixture.model.parameters[0]
        held.grad = Tensor(repeating: 7, shape: held.shape)
        fixture.model.train()
        var options = FlatnessOptions()
        (options.samples, options.iterations) = (3, 2)
        let report = measureFlatness(fixture.objective, batches: fixture.batches, options: options)
        XCTAssertEqual(report.gradientEvaluations, 2 * (3 + 2))
        for ((name, bits), (_, after)) in zip(before, fixture.model.namedParameters()) {
            XCTAssertEqual(after.scalars.map(\.bitPattern), bits, "\(name) is bitwise what it was")
        }
        XCTAssertTrue(fixture.model.isTraining, "the model's mode is put back")
        XCTAssertEqual(held.grad?.scalars, [Float](repeating: 7, count: held.count), "a gradient held before is put back")
    }

    /// With dropout 0.5 in the model and the model in training mode, a product is still torch's (dropout is off) and the
    /// same bits every time.
    func testDropoutIsOffDuringProducts() throws {
        let fixture = try loadFixture(dropout: 0.5)
        fixture.model.train()
        let hessian = HessianVectorProduct(loss: FixedBatchLoss(objective: fixture.objective, batches: fixture.batches))
        let v = try fixture.flat("vector.0")
        let first = hessian.apply(v), second = hessian.apply(v)
        XCTAssertEqual(first.map(\.bitPattern), second.map(\.bitPattern))
        XCTAssertLessThan(relativeError(first, try fixture.flat("hvp.0")), 1e-3)
    }

    /// Masked LM: both gradients of a product see the same masks, so the products are a symmetric operator
    /// (uᵀHv = vᵀHu). Masks drawn afresh for the second gradient would add a difference of gradients of size
    /// ‖∇L‖, divided by 2ε: products thousands of times too large and far from symmetric.
    func testMaskedLanguageModelingProductsSeeTheSameMasksOnBothSides() throws {
        var generator = RandomGenerator(seed: 4)
        let bert = BertForMaskedLM(BertConfig(vocabSize: 40, hiddenSize: 8, layers: 1, heads: 2, maxPositions: 16, dropout: 0.1),
                                   generator: &generator)
        let objective = MaskedLanguageModeling(model: bert, config: MaskingConfig(rate: 0.3), maskTokenID: 3,
                                               specialTokenIDs: [0, 1, 2], vocabularySize: 40)
        let batches = (0..<2).map { row in IntTensor((0..<(3 * 13)).map { 4 + ($0 * 7 + row * 5) % 36 }, shape: [3, 13]) }
        let hessian = HessianVectorProduct(loss: FixedBatchLoss(objective: objective, batches: batches))
        var draws = RandomGenerator(seed: 9)
        let u = FlatVector.rademacher(hessian.dimension, generator: &draws)
        let v = FlatVector.rademacher(hessian.dimension, generator: &draws)
        let hu = hessian.apply(u), hv = hessian.apply(v)
        let (uHv, vHu) = (FlatVector.dot(u, hv), FlatVector.dot(v, hu))
        let scale = max(abs(FlatVector.dot(u, hu)), abs(FlatVector.dot(v, hv)))
        print("flatness: masked LM uᵀHv \(uHv), vᵀHu \(vHu), uᵀHu \(FlatVector.dot(u, hu)), vᵀHv \(FlatVector.dot(v, hv))")
        XCTAssertEqual(uHv, vHu, accuracy: 1e-2 * scale, "the products are symmetric")
        XCTAssertEqual(hessian.apply(u).map(\.bitPattern), hu.map(\.bitPattern), "and the same every time")
    }

    func testHutchinsonStatistics() {
        let estimate = HutchinsonTrace(samples: [1, 2, 3, 4])
        XCTAssertEqual(estimate.mean, 2.5)
        XCTAssertEqual(estimate.standardDeviation, (5.0 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(estimate.halfWidth, 1.96 * (5.0 / 3).squareRoot() / 2, accuracy: 1e-12)
        XCTAssertEqual(estimate.lower, 2.5 - estimate.halfWidth)
    }
}
