import CDNNL

/// oneDNN: JIT kernels for the best ISA the CPU has, threaded by oneDNN's OpenMP pool.
/// Batched products run as one matmul primitive per shape (cached); 2-D products call `dnnl_sgemm`, which is
/// thread-safe and as fast as the primitive for f32 (see `pretrain sysinfo`) except for x · Wᵀ with few output
/// columns, which `linear` multiplies by a transposed copy of W instead (`prefersTransposedWeight`).
public final class OneDNNBackend: MatmulBackend {
    let primitives = OneDNNPrimitiveCache()

    public init() {}

    public var name: String {
        guard let version = dnnl_version() else { return "oneDNN" }
        return "oneDNN \(version.pointee.major).\(version.pointee.minor).\(version.pointee.patch)"
    }

    public var isa: String { OneDNNBackend.isaName(dnnl_get_effective_cpu_isa()) }

    static func isaName(_ isa: dnnl_cpu_isa_t) -> String {
        switch isa {
        case dnnl_cpu_isa_sse41: return "sse41"
        case dnnl_cpu_isa_avx: return "avx"
        case dnnl_cpu_isa_avx2: return "avx2"
        case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni"
        case dnnl_cpu_isa_avx512_mic: return "avx512_mic"
        case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops"
        case dnnl_cpu_isa_avx512_core: return "avx512_core"
        case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx_bf16"
        default: return "isa-\(isa.rawValue)"
        }
    }

    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        let status = dnnl_sgemm(transA ? 84 : 78, transB ? 84 : 78, Int64(m), Int64(n), Int64(k), alpha,
                                a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        precondition(status == dnnl_success, "dnnl_sgemm failed (status \(status.rawValue)) for m=\(m) n=\(n) k=\(k)")
    }

    /// `dnnl_sgemm` with a transposed B is slow when the product has no more columns than its inner size: on a
    /// 2-core Zen 4, x (2048, 2048) · Wᵀ with W (512, 2048) took 29.5 ms against 21.4 ms for the same product with
    /// W transposed first (145 against 200 GFLOP/s), and (2048, 512) · (512, 512)ᵀ 6.4 against 5.2 ms, while a copy
    /// of W costs 0.2–1 ms. Wide outputs (inputs < outputs) run as fast either way, and few rows (generation) would
    /// pay for the copy on every token.
    public func prefersTransposedWeight(rows: Int, inputs: Int, outputs: Int) -> Bool {
        inputs >= outputs && rows >= 512
    }

    public func batchedGemm(transA: Bool, transB: Bool, batch: Int, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, strideA: Int,
                            b: UnsafePointer<Float>, ldb: Int, strideB: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int) {
        if m == 0 || n == 0 || batch == 0 { return }
        if batch == 1 {
            gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                 beta: beta, c: c, ldc: ldc)
            return
        }
        let shape = OneDNNPrimitiveCache.Shape(batch: batch, m: m, n: n, k: k, transA: transA, transB: transB,
                                               lda: lda, ldb: ldb, ldc: ldc, strideA: strideA, strideB: strideB,
                                               strideC: strideC, alpha: alpha, beta: beta, bf16: false)
        if primitives.usesReferenceKernel(shape) {
            // No optimised batched kernel for these strides: one JIT GEMM per item instead of oneDNN's reference loop.
            for item in 0..<batch {
                gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a + item * strideA, lda: lda,
                     b: b + item * strideB, ldb: ldb, beta: beta, c: c + item * strideC, ldc: ldc)
            }
            return
        }
        primitives.execute(shape, a: a, b: b, c: c)
    }

    /// The same product through a cached matmul primitive (used by sysinfo and the tests).
    public func primitiveGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let shape = OneDNNPrimitiveCache.Shape(batch: 1, m: m, n: n, k: k, transA: transA, transB: transB,
                                               lda: lda, ldb: ldb, ldc: ldc, strideA: m * k, strideB: k * n,
                                               strideC: m * n, alpha: alpha, beta: beta, bf16: false)
        primitives.execute(shape, a: a, b: b, c: c)
    }

    /// Name of the kernel oneDNN picks for an f32 product of this size ("gemm:jit", "brg:avx512_core", ...).
    public func implementation(m: Int, n: Int, k: Int) -> String {
        primitives.implementation(OneDNNPrimitiveCache.Shape(batch: 1, m: m, n: n, k: k, transA: false, transB: false,
                                                             lda: k, ldb: n, ldc: n, strideA: m * k, strideB: k * n,
                                                             strideC: m * n, alpha: 1, beta: 0, bf16: false))
    }

    /// C (f32) = alpha · op(A) · op(B) + bias + beta · C with A and B in bf16 (uint16 bit patterns) and an
    /// optional f32 bias (n values, added to every row inside the kernel), through a cached primitive; AMX or
    /// AVX512-BF16 kernels where the CPU has them. Call only after `bf16Implementation` succeeded: a CPU without a
    /// bf16 kernel stops here.
    public func gemmBF16(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                         a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
                         bias: UnsafePointer<Float>? = nil, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        let shape = OneDNNPrimitiveCache.Shape(batch: 1, m: m, n: n, k: k, transA: transA, transB: transB,
                                               lda: lda, ldb: ldb, ldc: ldc, strideA: m * k, strideB: k * n,
                                               strideC: m * n, alpha: alpha, beta: beta, bf16: true, bias: bias != nil)
        primitives.execute(shape, a: a, b: b, bias: bias, c: c)
    }

    /// The batched form of `gemmBF16`: `batch` products whose operands and results lie `strideA`, `strideB` and
    /// `strideC` elements apart (bf16 attention's per-head products).
    public func batchedGemmBF16(transA: Bool, transB: Bool, batch: Int, m: Int, n: Int, k: Int, alpha: Float = 1,
                                a: UnsafePointer<UInt16>, lda: Int, strideA: Int,
                                b: UnsafePointer<UInt16>, ldb: Int, strideB: Int,
                                beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int) {
        if m == 0 || n == 0 || batch == 0 { return }
        let shape = OneDNNPrimitiveCache.Shape(batch: batch, m: m, n: n, k: k, transA: transA, transB: transB,
                                               lda: lda, ldb: ldb, ldc: ldc, strideA: strideA, strideB: strideB,
                                               strideC: strideC, alpha: alpha, beta: beta, bf16: true)
        primitives.execute(shape, a: a, b: b, c: c)
    }

    /// The bf16 kernel oneDNN would use for an m×n×k product, or why there is none.
    public func bf16Implementation(m: Int, n: Int, k: Int) -> Result<String, BackendError> {
        primitives.prepare(OneDNNPrimitiveCache.Shape(batch: 1, m: m, n: n, k: k, transA: false, transB: false,
                                                      lda: k, ldb: n, ldc: n, strideA: m * k, strideB: k * n,
                                                      strideC: m * n, alpha: 1, beta: 0, bf16: true))
    }
}
