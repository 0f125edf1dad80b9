import Tensors
import TestSupport
import XCTest

/// Rotary position embedding (rotate-half convention) against PyTorch, which builds cos/sin in float64 as
/// Hugging Face does. Tolerances: forward 1e-5 absolute + 1e-4 relative; gradients the same (one rotation).
final class RotaryTests: XCTestCase {
    func testRotaryEmbeddingMatchesTorch() throws {
        for name in ["rotary", "rotary_offset"] {
            try checkAgainstTorch(name, atol: 1e-5, rtol: 1e-4, gradAtol: 1e-5, gradRtol: 1e-4) { fixture, inputs in
                rotaryEmbedding(inputs["x"]!, base: fixture.float("base")!, positionOffset: fixture.int("offset")!)
            }
        }
    }

    /// Rows embedded with positionOffset p equal rows p... of the embedding of a longer sequence.
    func testPositionOffsetContinuesTheSequence() {
        var generator = RandomGenerator(seed: 2)
        let x = Tensor.normal([1, 2, 10, 8], generator: &generator)
        let shifted = rotaryEmbedding(rows(x, from: 4), positionOffset: 4)
        assertClose(shifted, rows(rotaryEmbedding(x), from: 4), atol: 1e-6, rtol: 0, "offset 4")
    }

    func testPositionZeroIsTheIdentity() {
        var generator = RandomGenerator(seed: 4)
        let x = Tensor.normal([2, 1, 1, 6], generator: &generator)
        XCTAssertEqual(rotaryEmbedding(x).scalars, x.scalars)
    }

    func testGradientMatchesFiniteDifferences() {
        var generator = RandomGenerator(seed: 8)
        let x = Tensor.normal([2, 2, 5, 6], generator: &generator)
        XCTAssertLessThan(maxGradientError(inputs: [x]) { rotaryEmbedding($0[0], base: 100, positionOffset: 2) }, 1e-2)
    }

    /// x (B, H, T, D) → rows start..<T along T.
    func rows(_ x: Tensor, from start: Int) -> Tensor {
        let (pairs, t, d) = (x.size(0) * x.size(1), x.size(2), x.size(3))
        let all = x.scalars
        var values: [Float] = []
        for pair in 0..<pairs { values += all[((pair * t + start) * d)..<((pair + 1) * t * d)] }
        return Tensor(values, shape: [x.size(0), x.size(1), t - start, d])
    }
}
