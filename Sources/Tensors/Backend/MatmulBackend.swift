/// The one interface every matrix multiplication goes through.
///
/// Row-major: C = alpha · op(A) · op(B) + beta · C, with op(X) = Xᵀ when the flag is set.
/// A is (M, K) after op, B is (K, N) after op, C is (M, N). Batched calls repeat this over `batch`
/// matrices placed `strideA`, `strideB`, `strideC` floats apart.
public protocol MatmulBackend: AnyObject {
    /// "oneDNN 2.6.3" or "OpenBLAS 0.3.21".
    var name: String { get }
    /// The instruction set the backend runs (e.g. "avx2", "avx512_core_amx").
    var isa: String { get }

    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int)

    func batchedGemm(transA: Bool, transB: Bool, batch: Int, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, strideA: Int,
                     b: UnsafePointer<Float>, ldb: Int, strideB: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int)
}

extension MatmulBackend {
    /// Fallback: one gemm per matrix.
    public func batchedGemm(transA: Bool, transB: Bool, batch: Int, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, strideA: Int,
                            b: UnsafePointer<Float>, ldb: Int, strideB: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int) {
        for index in 0..<batch {
            gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                 a: a + index * strideA, lda: lda, b: b + index * strideB, ldb: ldb,
                 beta: beta, c: c + index * strideC, ldc: ldc)
        }
    }
}

public enum BackendError: Error, CustomStringConvertible {
    case unavailable(String)
    public var description: String {
        switch self { case .unavailable(let why): return "matrix backend unavailable: \(why)" }
    }
}

/// The active backend. oneDNN by default; `PRETRAIN_BACKEND=openblas` selects the CBLAS fallback.
public enum Matmul {
    nonisolated(unsafe) private static var active: MatmulBackend?

    public static var backend: MatmulBackend {
        if let active { return active }
        Runtime.ensureConfigured()
        let chosen: MatmulBackend
        if getenvString("PRETRAIN_BACKEND")?.lowercased() == "openblas", let blas = try? OpenBLASBackend() {
            chosen = blas
        } else {
            chosen = OneDNNBackend()
        }
        active = chosen
        return chosen
    }

    public static func use(_ backend: MatmulBackend) { active = backend }
}
