import CSupport

/// CBLAS fallback through OpenBLAS, loaded at run time so that OPENBLAS_CORETYPE can be set first:
/// Debian's OpenBLAS 0.3.21 misdetects recent CPUs as "Prescott" (13 GFLOP/s instead of 118–184).
public final class OpenBLASBackend: MatmulBackend {
    public let coretype: String

    public init(coretype: String? = nil) throws {
        let chosen = coretype ?? getenvString("OPENBLAS_CORETYPE") ?? OpenBLASBackend.bestCoretype()
        guard sp_openblas_load(chosen) == 0 else {
            throw BackendError.unavailable("no OpenBLAS library found (install libopenblas0)")
        }
        self.coretype = chosen
        sp_openblas_set_threads(Int32(Runtime.threads))
    }

    /// The kernel family for this CPU's features.
    static func bestCoretype() -> String {
        if sp_cpu_has("avx512bf16") != 0 { return "Cooperlake" }
        if sp_cpu_has("avx512f") != 0 { return "SkylakeX" }
        if sp_cpu_has("avx2") != 0 { return "Haswell" }
        return "Sandybridge"
    }

    /// The library loaded: Debian's OpenMP build when installed (libopenblas0-openmp), else the default one.
    public var library: String { sp_openblas_library().map { String(cString: $0) } ?? "none" }
    /// True for the OpenMP build, which shares one thread pool with oneDNN and our kernels.
    public var usesOpenMP: Bool { library.contains("openblas-openmp") }

    public var name: String { usesOpenMP ? "OpenBLAS (OpenMP build)" : "OpenBLAS" }
    public var isa: String { sp_openblas_corename().map { String(cString: $0) } ?? coretype }

    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        sp_openblas_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                          a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
