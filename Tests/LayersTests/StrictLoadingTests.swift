import Layers
import Tensors
import XCTest

/// `Module.load` is strict: every parameter must be supplied with its shape and every supplied tensor must be
/// used; otherwise it throws a message naming each offender and changes nothing.
final class StrictLoadingTests: XCTestCase {
    func makeLayer() -> Linear {
        var generator = RandomGenerator(seed: 3)
        return Linear(3, 2, generator: &generator)
    }

    func loadError(_ module: Module, _ weights: [String: Tensor]) -> String? {
        do { try module.load(weights); return nil } catch { return String(describing: error) }
    }

    func testCompleteWeightsLoad() throws {
        let layer = makeLayer()
        try layer.load(["weight": Tensor(repeating: 0.5, shape: [2, 3]), "bias": Tensor([1, 2], shape: [2])])
        XCTAssertEqual(layer.weight.scalars, [Float](repeating: 0.5, count: 6))
        XCTAssertEqual(layer.bias!.scalars, [1, 2])
    }

    func testMissingKeyIsNamedAndNothingLoads() {
        let layer = makeLayer()
        let before = layer.weight.scalars
        let message = loadError(layer, ["weight": Tensor(zeros: [2, 3])])
        XCTAssertNotNil(message)
        XCTAssertTrue(message?.contains("missing: bias") == true, message ?? "")
        XCTAssertEqual(layer.weight.scalars, before)
    }

    func testUnusedKeyIsNamedAndNothingLoads() {
        let layer = makeLayer()
        let before = layer.weight.scalars
        let message = loadError(layer, ["weight": Tensor(zeros: [2, 3]), "bias": Tensor(zeros: [2]),
                                        "lm_head.weight": Tensor(zeros: [2, 3])])
        XCTAssertTrue(message?.contains("unused: lm_head.weight") == true, message ?? "no error")
        XCTAssertEqual(layer.weight.scalars, before)
    }

    func testWrongShapeIsNamedWithBothShapesAndNothingLoads() {
        let layer = makeLayer()
        let before = layer.bias!.scalars
        // A Conv1D-style (in, out) weight, as in the original GPT-2 checkpoint, must be rejected, not misread.
        let message = loadError(layer, ["weight": Tensor(zeros: [3, 2]), "bias": Tensor(zeros: [2])])
        XCTAssertTrue(message?.contains("weight: checkpoint [3, 2], model [2, 3]") == true, message ?? "no error")
        XCTAssertEqual(layer.bias!.scalars, before)
    }

    func testEveryProblemIsListedAtOnce() {
        var generator = RandomGenerator(seed: 3)
        let block = GPT2Block(dModel: 8, heads: 2, generator: &generator)
        var weights = block.stateDict()
        weights["ln_1.weight"] = nil
        weights["attn.c_attn.weight"] = Tensor(zeros: [8, 24])
        weights["attn.bias"] = Tensor(zeros: [1, 1, 4, 4])
        let message = loadError(block, weights) ?? ""
        XCTAssertTrue(message.contains("missing: ln_1.weight"), message)
        XCTAssertTrue(message.contains("unused: attn.bias"), message)
        XCTAssertTrue(message.contains("attn.c_attn.weight: checkpoint [8, 24], model [24, 8]"), message)
    }
}
