import Foundation
import Tensors
import XCTest

/// The vector exp and tanh against libm, elementwise over their useful range.
final class FastMathTests: XCTestCase {
    func sweep(from low: Float, to high: Float, count: Int = 200_000) -> [Float] {
        (0..<count).map { low + (high - low) * Float($0) / Float(count - 1) }
    }

    func worstRelativeError(_ inputs: [Float], vector: (FloatVector) -> FloatVector, scalar: (Float) -> Float) -> Float {
        var worst: Float = 0
        let width = FloatVector.scalarCount
        for start in stride(from: 0, to: inputs.count - width + 1, by: width) {
            let result = vector(FloatVector(inputs[start..<start + width]))
            for lane in 0..<width {
                let expected = scalar(inputs[start + lane])
                worst = max(worst, abs(result[lane] - expected) / max(abs(expected), Float.leastNormalMagnitude))
            }
        }
        return worst
    }

    func testExpIsWithinFourUlpOfLibm() {
        // 4 ulp of Float = 4 · 2⁻²³ ≈ 4.8e-7 relative.
        let error = worstRelativeError(sweep(from: -87, to: 88), vector: fastExp, scalar: Foundation.exp)
        XCTAssertLessThan(error, 4.8e-7)
    }

    func testTanhIsWithinFourUlpOfLibmIncludingNearZero() {
        let error = worstRelativeError(sweep(from: -10, to: 10) + sweep(from: -1e-3, to: 1e-3),
                                       vector: fastTanh, scalar: Foundation.tanh)
        XCTAssertLessThan(error, 4.8e-7)
    }

    func testErfcHasSmallRelativeErrorIncludingTheTails() {
        // Relative error: the rounding of z² inside exp(−z² + …) grows with z (≈ 6e-8·z²).
        let error = worstRelativeError(sweep(from: -6, to: 6), vector: fastErfc,
                                       scalar: { Float(Foundation.erfc(Double($0))) })
        XCTAssertLessThan(error, 4e-6)
    }

    func testExactGELUMatchesTheErfFormula() {
        let inputs = sweep(from: -12, to: 12, count: 40_000)
        let x = Tensor(inputs, shape: [inputs.count], requiresGrad: true)
        let y = gelu(x, approximate: .none)
        sum(y).backward()
        for (index, value) in inputs.enumerated() {
            let v = Double(value)
            let cdf = 0.5 * Foundation.erfc(-v / 2.0.squareRoot())
            XCTAssertEqual(Double(y.data[index]), v * cdf, accuracy: 2e-7 * max(1, abs(v)), "gelu(\(value))")
            let slope = cdf + v * Foundation.exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
            XCTAssertEqual(Double(x.grad!.data[index]), slope, accuracy: 1e-6, "gelu'(\(value))")
        }
    }

    /// The first lanes of a vector (8 or 16 wide), the rest 0.
    private func vector(_ values: [Float]) -> FloatVector {
        var result = FloatVector()
        for (lane, value) in values.enumerated() { result[lane] = value }
        return result
    }

    func testSaturationAndNaN() {
        let result = fastExp(vector([-1000, -88, 0, 1, 89, 1000, .nan, -.infinity]))
        XCTAssertEqual(result[0], 0, accuracy: 1e-37)
        XCTAssertEqual(result[2], 1)
        XCTAssertEqual(result[3], Float(M_E), accuracy: 1e-6)
        XCTAssertTrue(result[4].isFinite && result[4] > 1e38)
        XCTAssertTrue(result[6].isNaN)
        XCTAssertEqual(result[7], 0, accuracy: 1e-37)
        let t = fastTanh(vector([-50, 50, 0, .nan, 1e-30, -1e-30, 3, -3]))
        XCTAssertEqual(t[0], -1)
        XCTAssertEqual(t[1], 1)
        XCTAssertEqual(t[2], 0)
        XCTAssertTrue(t[3].isNaN)
        XCTAssertEqual(t[4], 1e-30)
    }
}
