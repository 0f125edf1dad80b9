import CSupport

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

    /// Whether `linear`'s fp32 product x (rows, inputs) · Wᵀ runs faster as x · (a transposed copy of W): a
    /// backend whose kernel for a transposed B is slow at these sizes says so, and `linear` transposes W first.
    func prefersTransposedWeight(rows: Int, inputs: Int, outputs: Int) -> Bool
}

extension MatmulBackend {
    public func prefersTransposedWeight(rows: Int, inputs: Int, outputs: Int) -> Bool { false }

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

/// The active backend, chosen once per process by `PRETRAIN_BACKEND`:
/// - `onednn`: oneDNN (JIT kernels for the CPU's best ISA; the only one with bf16/AMX kernels);
/// - `openblas`: OpenBLAS, loaded with the right core type;
/// - `auto` (default): oneDNN on CPUs with AVX-512, where its kernels are strongest; on AVX2-only CPUs the
///   OpenMP build of OpenBLAS when it is installed, because it was faster for training steps there
///   (docs/PERFORMANCE.md: 400 vs 500 ms for the tiny GPT step on a 2-core AMD EPYC), else oneDNN.
public enum Matmul {
    nonisolated(unsafe) private static var active: MatmulBackend?
    /// Why the active backend was chosen (shown by `pretrain sysinfo`).
    nonisolated(unsafe) public private(set) static var choice = ""

    public static var backend: MatmulBackend {
        if let active { return active }
        Runtime.ensureConfigured()
        let (chosen, reason) = choose(getenvString("PRETRAIN_BACKEND")?.lowercased() ?? "auto")
        active = chosen
        choice = reason
        return chosen
    }

    static func choose(_ request: String) -> (MatmulBackend, String) {
        switch request {
        case "onednn":
            return (OneDNNBackend(), "PRETRAIN_BACKEND=onednn")
        case "openblas":
            do { return (try OpenBLASBackend(), "PRETRAIN_BACKEND=openblas") } catch {
                return (OneDNNBackend(), "PRETRAIN_BACKEND=openblas, but \(error); using oneDNN")
            }
        default:
            if sp_cpu_has("avx512f") != 0 { return (OneDNNBackend(), "auto: AVX-512 CPU") }
            // Checked before loading: a pthread build would start its own idle thread pool for nothing.
            if sp_openblas_openmp_installed() != 0, let blas = try? OpenBLASBackend(), blas.usesOpenMP {
                return (blas, "auto: AVX2 CPU, OpenBLAS OpenMP build installed")
            }
            return (OneDNNBackend(), "auto: OpenBLAS OpenMP build not installed (libopenblas0-openmp)")
        }
    }

    public static func use(_ backend: MatmulBackend) {
        active = backend
        fp32Backend = nil
        precision = .fp32
        choice = "set by the program"
    }

    /// The precision products run in now (after any fallback).
    nonisolated(unsafe) public private(set) static var precision = MatmulPrecision.fp32
    nonisolated(unsafe) private static var fp32Backend: MatmulBackend?

    /// Switches every product to `requested` and returns the precision in effect with a line saying why.
    /// bf16 needs a oneDNN bf16 kernel with native instructions (AMX or AVX512-BF16); without them it falls back to
    /// fp32 (oneDNN would otherwise run a slow reference kernel). bf16-emulated works everywhere.
    @discardableResult
    public static func setPrecision(_ requested: MatmulPrecision) -> (precision: MatmulPrecision, message: String) {
        let base = fp32Backend ?? backend
        fp32Backend = base
        switch requested {
        case .fp32:
            active = base
            precision = .fp32
            return (.fp32, "precision fp32: \(base.name)")
        case .bf16Emulated:
            active = BFloat16Backend(base: base, native: nil)
            precision = .bf16Emulated
            return (.bf16Emulated, "precision bf16-emulated: operands rounded to bf16 in software, fp32 GEMM (\(base.name))")
        case .bf16:
            let onednn = base as? OneDNNBackend ?? OneDNNBackend()
            let hasInstructions = sp_cpu_has("avx512bf16") != 0 || sp_cpu_has("amx_bf16") != 0
            switch onednn.bf16Implementation(m: 64, n: 64, k: 64) {
            case .success(let kernel) where hasInstructions:
                active = BFloat16Backend(base: base, native: onednn)
                precision = .bf16
                return (.bf16, "precision bf16: oneDNN \(kernel) (\(onednn.isa)), fp32 master weights and reductions")
            case .success:
                active = base
                precision = .fp32
                return (.fp32, "precision bf16 requested, but this CPU has no AVX512-BF16 or AMX: training in fp32 (\(base.name))")
            case .failure(let error):
                active = base
                precision = .fp32
                return (.fp32, "precision bf16 requested, but \(error): training in fp32 (\(base.name))")
            }
        }
    }
}
