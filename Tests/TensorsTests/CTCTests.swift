import Foundation
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// CTC loss against torch.nn.functional.ctc_loss (scripts/make_ctc_fixtures.py, float64 reference): value with
/// both reductions and the gradient with respect to the logits, including repeated labels, padding frames and an
/// infeasible utterance (zeroed, as torch's zero_infinity).
final class CTCTests: XCTestCase {
    static let fixture = fixtureURL("TensorsTests", "ctc.safetensors")

    func testValueAndGradientMatchPyTorch() throws {
        let file = try SafeTensorsFile(contentsOf: Self.fixture)
        let cases = try XCTUnwrap(file.metadata["cases"]).split(separator: ",").map(String.init)
        XCTAssertEqual(cases.count, 4)
        for name in cases {
            let (shape, values) = try file.floats("\(name).logits")
            let logits = Tensor(values, shape: shape, requiresGrad: true)
            let logitLengths = try file.ints("\(name).logit_lengths").values
            let targetLengths = try file.ints("\(name).target_lengths").values
            let (targetShape, padded) = try file.ints("\(name).targets")
            let targets = targetLengths.enumerated().map { row, length in
                padded[(row * targetShape[1])..<(row * targetShape[1] + length)].map { Int32($0) }
            }
            let mean = ctcLoss(logits: logits, logitLengths: logitLengths, targets: targets, reduction: .mean)
            let sum = noGrad { ctcLoss(logits: logits, logitLengths: logitLengths, targets: targets, reduction: .sum) }
            XCTAssertEqual(mean.item, try file.floats("\(name).loss_mean").values[0], accuracy: 2e-5, "\(name) mean")
            XCTAssertEqual(sum.item, try file.floats("\(name).loss_sum").values[0], accuracy: 1e-4, "\(name) sum")
            mean.backward()
            let (gradShape, expected) = try file.floats("\(name).grad_mean")
            XCTAssertEqual(gradShape, shape)
            for (index, (actual, reference)) in zip(logits.grad!.scalars, expected).enumerated() {
                XCTAssertEqual(actual, reference, accuracy: 1e-6, "\(name) gradient element \(index)")
            }
        }
    }

    func testACertainAlignmentHasZeroLoss() {
        // Frames that put all mass on "1 blank 1" spell the target [1, 1] with probability ≈ 1.
        var values = [Float](repeating: -30, count: 3 * 3)
        values[0 * 3 + 1] = 30; values[1 * 3 + 0] = 30; values[2 * 3 + 1] = 30
        let loss = ctcLoss(logits: Tensor(values, shape: [1, 3, 3]), logitLengths: [3], targets: [[1, 1]])
        XCTAssertEqual(loss.item, 0, accuracy: 1e-6)
    }
}
