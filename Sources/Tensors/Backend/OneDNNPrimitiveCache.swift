import CDNNLMatmul
import Foundation

/// oneDNN matmul primitives, created once per shape and reused (creating one costs far more than running it).
final class OneDNNPrimitiveCache: @unchecked Sendable {
    struct Shape: Hashable {
        var batch, m, n, k: Int
        var transA, transB: Bool
        var lda, ldb, ldc, strideA, strideB, strideC: Int
        var alpha, beta: Float
        var bf16: Bool
        var bias = false
    }

    private var primitives: [Shape: OpaquePointer] = [:]
    /// Shapes for which oneDNN found no optimised kernel and runs its reference loop ("ref:any"): strided batches
    /// it does not cover, such as a grouped convolution's, where it was 12× slower than one GEMM per item.
    private var reference: Set<Shape> = []
    private let lock = NSLock()

    /// Runs C = alpha·op(A)·op(B) + beta·C for `shape`. oneDNN's stream is not thread-safe: calls are serialised
    /// (the primitive itself runs on all of oneDNN's threads).
    func execute(_ shape: Shape, a: UnsafeRawPointer, b: UnsafeRawPointer, bias: UnsafePointer<Float>? = nil,
                 c: UnsafeMutablePointer<Float>) {
        precondition(shape.bias == (bias != nil), "oneDNN matmul: bias given \(bias != nil), shape expects \(shape.bias)")
        lock.lock()
        defer { lock.unlock() }
        let primitive = primitives[shape] ?? create(shape)
        let status = sp_matmul_execute(primitive, a, b, bias, c)
        precondition(status == 0, "oneDNN matmul failed to execute for \(shape)")
    }

    /// Whether oneDNN would run `shape` with its reference kernel (the primitive is built and cached to find out).
    func usesReferenceKernel(_ shape: Shape) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if primitives[shape] == nil { _ = create(shape) }
        return reference.contains(shape)
    }

    func implementation(_ shape: Shape) -> String {
        lock.lock()
        defer { lock.unlock() }
        return String(cString: sp_matmul_implementation(primitives[shape] ?? create(shape)))
    }

    /// Builds (and caches) the primitive, or returns oneDNN's reason why it cannot.
    func prepare(_ shape: Shape) -> Result<String, BackendError> {
        lock.lock()
        defer { lock.unlock() }
        if let primitive = primitives[shape] { return .success(String(cString: sp_matmul_implementation(primitive))) }
        var error = [CChar](repeating: 0, count: 256)
        guard let primitive = build(shape, error: &error) else { return .failure(.unavailable(String(cString: error))) }
        primitives[shape] = primitive
        if String(cString: sp_matmul_implementation(primitive)).hasPrefix("ref") { reference.insert(shape) }
        return .success(String(cString: sp_matmul_implementation(primitive)))
    }

    private func create(_ shape: Shape) -> OpaquePointer {
        var error = [CChar](repeating: 0, count: 256)
        guard let primitive = build(shape, error: &error) else { fatalError("\(String(cString: error)) for \(shape)") }
        primitives[shape] = primitive
        if String(cString: sp_matmul_implementation(primitive)).hasPrefix("ref") { reference.insert(shape) }
        return primitive
    }

    private func build(_ shape: Shape, error: inout [CChar]) -> OpaquePointer? {
        sp_matmul_create(
            Int64(shape.batch), Int64(shape.m), Int64(shape.n), Int64(shape.k), shape.transA ? 1 : 0, shape.transB ? 1 : 0,
            Int64(shape.lda), Int64(shape.ldb), Int64(shape.ldc), Int64(shape.strideA), Int64(shape.strideB),
            Int64(shape.strideC), shape.alpha, shape.beta, shape.bf16 ? Int32(SP_BF16.rawValue) : Int32(SP_F32.rawValue),
            shape.bias ? 1 : 0, &error, Int32(error.count))
    }

    var count: Int { lock.lock(); defer { lock.unlock() }; return primitives.count }
}
