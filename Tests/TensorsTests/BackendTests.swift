import Tensors
import XCTest

/// Both matrix backends against a plain triple loop, for every transpose, alpha/beta and batch stride;
/// and the OpenBLAS fallback picks a real kernel instead of the misdetected "Prescott" one.
final class BackendTests: XCTestCase {
    /// C = alpha·op(A)·op(B) + beta·C in Double.
    func reference(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], b: [Float],
                   beta: Float, c: [Float]) -> [Float] {
        var result = c
        for i in 0..<m {
            for j in 0..<n {
                var total = 0.0
                for p in 0..<k {
                    let x = transA ? a[p * m + i] : a[i * k + p]
                    let y = transB ? b[j * k + p] : b[p * n + j]
                    total += Double(x) * Double(y)
                }
                result[i * n + j] = Float(Double(alpha) * total + Double(beta) * Double(c[i * n + j]))
            }
        }
        return result
    }

    func check(_ backend: MatmulBackend, file: StaticString = #filePath, line: UInt = #line) {
        var generator = RandomGenerator(seed: 5)
        let (m, n, k) = (7, 5, 9)
        for transA in [false, true] {
            for transB in [false, true] {
                let a = Tensor.normal([m * k], generator: &generator).scalars
                let b = Tensor.normal([k * n], generator: &generator).scalars
                let c = Tensor.normal([m * n], generator: &generator).scalars
                let expected = reference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, b: b,
                                         beta: 1, c: c)
                var actual = c
                actual.withUnsafeMutableBufferPointer { out in
                    backend.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a,
                                 lda: transA ? m : k, b: b, ldb: transB ? k : n, beta: 1, c: out.baseAddress!, ldc: n)
                }
                for (x, y) in zip(actual, expected) {
                    XCTAssertEqual(x, y, accuracy: 1e-4, "\(backend.name) transA \(transA) transB \(transB)", file: file, line: line)
                }
            }
        }
        // Batched, with B shared by every entry (stride 0) and C accumulated (beta 1).
        let batch = 3
        let a = Tensor.normal([batch * m * k], generator: &generator).scalars
        let b = Tensor.normal([k * n], generator: &generator).scalars
        var actual = [Float](repeating: 1, count: batch * m * n)
        actual.withUnsafeMutableBufferPointer { out in
            backend.batchedGemm(transA: false, transB: false, batch: batch, m: m, n: n, k: k, alpha: 1,
                                a: a, lda: k, strideA: m * k, b: b, ldb: n, strideB: 0,
                                beta: 1, c: out.baseAddress!, ldc: n, strideC: m * n)
        }
        for index in 0..<batch {
            let expected = reference(transA: false, transB: false, m: m, n: n, k: k, alpha: 1,
                                     a: Array(a[index * m * k..<(index + 1) * m * k]), b: b, beta: 1,
                                     c: [Float](repeating: 1, count: m * n))
            for (x, y) in zip(actual[index * m * n..<(index + 1) * m * n], expected) {
                XCTAssertEqual(x, y, accuracy: 1e-4, "\(backend.name) batched entry \(index)", file: file, line: line)
            }
        }
    }

    func testOneDNNMatchesReference() {
        check(OneDNNBackend())
    }

    /// A grouped convolution's batch: A shared (stride 0), B and C entries interleaved with other groups' (strides
    /// larger than one entry). oneDNN has only its reference kernel for these strides, so the backend runs one GEMM
    /// per entry instead; the values must be the same, and the rows between entries untouched.
    func testOneDNNStridedBatchOutsideItsKernelsMatchesReference() {
        let backend = OneDNNBackend()
        var generator = RandomGenerator(seed: 9)
        let (batch, m, n, k) = (4, 3, 6, 5)
        let (strideB, strideC) = (3 * k * n, 2 * m * n)
        let a = Tensor.normal([m * k], generator: &generator).scalars
        let b = Tensor.normal([batch * strideB], generator: &generator).scalars
        let initial = Tensor.normal([batch * strideC], generator: &generator).scalars
        var c = initial
        c.withUnsafeMutableBufferPointer { out in
            backend.batchedGemm(transA: false, transB: false, batch: batch, m: m, n: n, k: k, alpha: 1, a: a, lda: k, strideA: 0,
                                b: b, ldb: n, strideB: strideB, beta: 1, c: out.baseAddress!, ldc: n, strideC: strideC)
        }
        for item in 0..<batch {
            let expected = reference(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a,
                                     b: Array(b[item * strideB..<item * strideB + k * n]), beta: 1,
                                     c: Array(initial[item * strideC..<item * strideC + m * n]))
            for (x, y) in zip(c[item * strideC..<item * strideC + m * n], expected) { XCTAssertEqual(x, y, accuracy: 1e-4, "entry \(item)") }
            XCTAssertEqual(Array(c[item * strideC + m * n..<(item + 1) * strideC]),
                           Array(initial[item * strideC + m * n..<(item + 1) * strideC]), "between entries")
        }
    }

    func testOneDNNPrimitiveMatchesReference() {
        let backend = OneDNNBackend()
        var generator = RandomGenerator(seed: 8)
        let a = Tensor.normal([6 * 4], generator: &generator).scalars, b = Tensor.normal([5 * 4], generator: &generator).scalars
        var c = [Float](repeating: 0, count: 6 * 5)
        c.withUnsafeMutableBufferPointer { out in
            backend.primitiveGemm(transA: false, transB: true, m: 6, n: 5, k: 4, alpha: 1, a: a, lda: 4, b: b, ldb: 4,
                                  beta: 0, c: out.baseAddress!, ldc: 5)
        }
        let expected = reference(transA: false, transB: true, m: 6, n: 5, k: 4, alpha: 1, a: a, b: b, beta: 0,
                                 c: [Float](repeating: 0, count: 30))
        for (x, y) in zip(c, expected) { XCTAssertEqual(x, y, accuracy: 1e-4) }
    }

    func testOpenBLASFallbackMatchesReferenceAndAvoidsPrescott() throws {
        let backend = try OpenBLASBackend()  // `make deps` installs libopenblas-dev
        check(backend)
        // Debian's 0.3.21 detects recent CPUs as Prescott (13 GFLOP/s); the backend sets the core type first.
        XCTAssertNotEqual(backend.isa.lowercased(), "prescott", "OpenBLAS runs its slowest kernel")
    }
}
