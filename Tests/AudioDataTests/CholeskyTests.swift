import AudioData
import XCTest

/// Cholesky factorisation and solves against a system whose answer is known.
final class CholeskyTests: XCTestCase {
    func testSolvesASymmetricPositiveDefiniteSystem() throws {
        // A = MᵀM + I for a fixed M, X known, B = A X.
        let n = 6, columns = 3
        let m = (0..<(n * n)).map { Double(($0 * 7919) % 13) / 13 - 0.5 }
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<n { a[i * n + j] += m[k * n + i] * m[k * n + j] } } }
        for i in 0..<n { a[i * n + i] += 1 }
        let x = (0..<(n * columns)).map { Double($0 % 5) - 2 }
        var b = [Double](repeating: 0, count: n * columns)
        for i in 0..<n { for c in 0..<columns { for k in 0..<n { b[i * columns + c] += a[i * n + k] * x[k * columns + c] } } }
        let factor = try XCTUnwrap(Cholesky.factor(a, size: n))
        for i in 0..<n { for j in (i + 1)..<n { XCTAssertEqual(factor[i * n + j], 0, "L is lower-triangular") } }
        for (solved, expected) in zip(Cholesky.solve(factor: factor, size: n, b, columns: columns), x) {
            XCTAssertEqual(solved, expected, accuracy: 1e-10)
        }
        XCTAssertNil(Cholesky.factor([1, 2, 2, 1], size: 2), "not positive definite")
    }
}
