import Tensors
import TestSupport
import XCTest

/// The comparison behind `assertClose` (TestSupport): XCTest on Linux has no XCTExpectFailure, so the pure
/// `closeness` function is tested instead of the assertion.
final class ClosenessTests: XCTestCase {
    func testValuesWithinToleranceAreClose() {
        // |1.05 − 1| = 0.05 ≤ 0.01 + 0.1·1; the bound scales with |expected|, not |actual|.
        XCTAssertNil(closeness([1.05, -2, 0], [1, -2.1, 0.005], atol: 0.01, rtol: 0.1))
        let x = Tensor([1, 2, 3, 4], shape: [2, 2])
        XCTAssertNil(closeness(x, Tensor([1, 2, 3, 4], shape: [2, 2]), atol: 0, rtol: 0))
    }

    func testTheWorstElementOutOfToleranceIsNamed() throws {
        let message = try XCTUnwrap(closeness([1, 2.5, 3.2], [1, 2, 3], atol: 0.1, rtol: 0))
        XCTAssertTrue(message.contains("element 1 is 2.5, expected 2.0"), message)
        XCTAssertTrue(message.contains("2 of 3 elements"), message)
    }

    func testNaNNeverMatches() {
        XCTAssertNotNil(closeness([.nan], [1], atol: 1, rtol: 1), "NaN where a finite value is expected")
        XCTAssertNotNil(closeness([1], [.nan], atol: 1, rtol: 1), "a finite value where NaN is expected")
        XCTAssertNotNil(closeness([.nan], [.nan], atol: 1, rtol: 1), "NaN in a result and in a fixture")
        let message = closeness(Tensor([0, .nan, 0], shape: [3]), Tensor([0, 100, 0], shape: [3]),
                                atol: 1e-5, rtol: 1e-4)
        XCTAssertTrue(message?.contains("element 1 is nan") == true, message ?? "nil")
    }

    func testAnInfinityMatchesOnlyItself() {
        XCTAssertNil(closeness([.infinity, -.infinity], [.infinity, -.infinity], atol: 0, rtol: 0))
        XCTAssertNotNil(closeness([.infinity], [-.infinity], atol: 1, rtol: 1))
        XCTAssertNotNil(closeness([1e30], [.infinity], atol: 1, rtol: 1), "finite where infinity is expected")
        XCTAssertNotNil(closeness([-.infinity], [-3], atol: 1, rtol: 1), "infinity where a finite value is expected")
    }

    func testShapeAndCountMismatchesFail() throws {
        let message = try XCTUnwrap(closeness(Tensor([1, 2, 3, 4], shape: [2, 2]), Tensor([1, 2, 3, 4], shape: [4]),
                                              atol: 1, rtol: 1))
        XCTAssertTrue(message.contains("shape [2, 2], expected [4]"), message)
        XCTAssertNotNil(closeness([1, 2], [1, 2, 3], atol: 1, rtol: 1))
    }
}
