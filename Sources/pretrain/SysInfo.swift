import ArgumentParser
import CStartup
import CSupport
import Distributed
import Foundation
import Tensors

/// `pretrain sysinfo`: the CPU, the matrix backend and what it measures here, and the MPI world (under mpirun, rank 0
/// alone prints).
struct SysInfo: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sysinfo", abstract: "Show CPU features, the matrix backend, threads, the MPI world and measured matmul GFLOP/s.")

    @Option(help: "Threads for kernels and the matrix backend (default: all available cores).")
    var threads: Int?

    @Option(help: "Square matrix size for the GEMM measurement.")
    var size: Int = 1024

    func run() throws {
        // Under mpirun one report is enough; the other ranks would only compete with rank 0's measurements.
        guard World.current.isRoot else { return }
        Runtime.configure(threads: threads)
        var features = [CChar](repeating: 0, count: 512)
        sp_cpu_features(&features, features.count)
        let backend = Matmul.backend
        print("cpu:        \(cpuModelName())")
        print("features:   \(String(cString: features))")
        print("backend:    \(backend.name) (\(Matmul.choice))")
        print("isa:        \(backend.isa)")
        print("threads:    \(Runtime.threads)")
        print("omp wait:   \(openMPWaitPolicy())")
        print("ftz/daz:    \(Runtime.flushesDenormals ? "on" : "off")")
        print("mpi:        \(World.summary)")
        let gflops = measureGEMM(backend: backend, size: size)
        print(String(format: "matmul f32: %.1f GFLOP/s at %d³", gflops, size))
        // oneDNN is measured even when another backend is active: it carries the bf16 path.
        let onednn = backend as? OneDNNBackend ?? OneDNNBackend()
        if !(backend is OneDNNBackend) {
            print(String(format: "oneDNN f32 (%@, %@): %.1f GFLOP/s at %d³", onednn.name, onednn.isa,
                         measureGEMM(backend: onednn, size: size), size))
        }
        let primitive = measureGEMM(size: size) { a, b, c in
            onednn.primitiveGemm(transA: false, transB: false, m: size, n: size, k: size, alpha: 1, a: a, lda: size,
                                 b: b, ldb: size, beta: 0, c: c, ldc: size)
        }
        print(String(format: "oneDNN f32 (primitive %@): %.1f GFLOP/s at %d³",
                     onednn.implementation(m: size, n: size, k: size), primitive, size))
        let nativeBF16 = sp_cpu_has("avx512bf16") != 0 || sp_cpu_has("amx_bf16") != 0
        switch onednn.bf16Implementation(m: size, n: size, k: size) {
        case .failure(let error):
            print("oneDNN bf16: unavailable (\(error))")
        case .success(let implementation) where nativeBF16:
            let a = [UInt16](repeating: 0x3F80, count: size * size), b = [UInt16](repeating: 0x3F00, count: size * size)
            let bf16 = measureGEMM(size: size) { _, _, c in
                onednn.gemmBF16(transA: false, transB: false, m: size, n: size, k: size, a: a, lda: size,
                                b: b, ldb: size, c: c, ldc: size)
            }
            print(String(format: "oneDNN bf16 (%@): %.1f GFLOP/s at %d³", implementation, bf16, size))
        case .success(let implementation):
            print("oneDNN bf16: not measured (oneDNN offers \(implementation), but this CPU has no native bf16: no AVX512-BF16 or AMX)")
        }
    }
}

func cpuModelName() -> String { Machine.cpuModel }

/// Best-of-several GFLOP/s of an n×n×n f32 GEMM after warm-up.
func measureGEMM(backend: MatmulBackend, size n: Int, repeats: Int = 10) -> Double {
    measureGEMM(size: n, repeats: repeats) { a, b, c in
        backend.gemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a, lda: n, b: b, ldb: n, beta: 0, c: c, ldc: n)
    }
}

func measureGEMM(size n: Int, repeats: Int = 10,
                 _ multiply: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> Double {
    let a = Tensor.uniform([n, n], low: -1, high: 1)
    let b = Tensor.uniform([n, n], low: -1, high: 1)
    let c = Tensor(zeros: [n, n])
    func once() { multiply(a.data, b.data, c.data) }
    once(); once()
    var best = Double.infinity
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        once()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
}

/// The OpenMP wait policy in force: set by `pretrain` at start-up (CStartup), or the user's.
func openMPWaitPolicy() -> String {
    let environment = ProcessInfo.processInfo.environment
    let chosen = String(cString: sp_startup_wait_policy())
    if !chosen.isEmpty { return "\(chosen) (set at start-up; OMP_WAIT_POLICY or GOMP_SPINCOUNT override it)" }
    if let policy = environment["OMP_WAIT_POLICY"] { return "OMP_WAIT_POLICY=\(policy) (from the environment)" }
    if let count = environment["GOMP_SPINCOUNT"] { return "GOMP_SPINCOUNT=\(count) (from the environment)" }
    return "libgomp's default (PRETRAIN_OMP_REEXEC=0)"
}
