import CDNNLMatmul

/// Number format of matrix-product operands. Everything else (weights, gradients, optimiser state, norms,
/// softmax, losses, accumulation) stays fp32: this is mixed precision as torch.autocast does it on a CPU.
public enum MatmulPrecision: String, CaseIterable, Sendable {
    case fp32
    /// A and B rounded to bf16, products accumulated in fp32 by oneDNN's AMX / AVX512-BF16 kernels.
    case bf16
    /// The same rounding done in software before an fp32 GEMM: bf16 numerics on any CPU, for checking them where
    /// the CPU has no bf16 instructions. Slower than fp32.
    case bf16Emulated = "bf16-emulated"
}

/// Runs every product with bf16 operands and an fp32 result.
///
/// `native`: operands are converted to bf16 bit patterns and multiplied by a oneDNN bf16 matmul primitive.
/// Emulated: operands are rounded to the nearest bf16 value (ties to even, as the hardware converts), kept as
/// fp32, and multiplied by the fp32 backend. Scratch buffers grow to the largest product and are reused.
final class BFloat16Backend: MatmulBackend {
    let base: MatmulBackend
    let native: OneDNNBackend?
    private var scratchA = ScratchBuffer(), scratchB = ScratchBuffer()

    init(base: MatmulBackend, native: OneDNNBackend?) {
        self.base = base
        self.native = native
    }

    var name: String { native.map { "\($0.name) bf16" } ?? "\(base.name) with bf16 rounding (emulated)" }
    var isa: String { native?.isa ?? base.isa }

    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        // Stored extent of each operand: op(A) is (m, k), stored (k, m) when transposed.
        let extentA = Self.extent(rows: transA ? k : m, columns: transA ? m : k, leading: lda)
        let extentB = Self.extent(rows: transB ? n : k, columns: transB ? k : n, leading: ldb)
        if let native {
            let a16 = scratchA.halves(extentA), b16 = scratchB.halves(extentB)
            convertToBFloat16(a, a16, count: extentA)
            convertToBFloat16(b, b16, count: extentB)
            native.gemmBF16(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a16, lda: lda,
                            b: b16, ldb: ldb, beta: beta, c: c, ldc: ldc)
        } else {
            let aRounded = scratchA.floats(extentA), bRounded = scratchB.floats(extentB)
            roundToBFloat16(a, aRounded, count: extentA)
            roundToBFloat16(b, bRounded, count: extentB)
            base.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: aRounded, lda: lda,
                      b: bRounded, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    private static func extent(rows: Int, columns: Int, leading: Int) -> Int {
        rows == 0 ? 0 : (rows - 1) * leading + columns
    }
}

/// A grow-only buffer reinterpreted as floats or bf16 halves; allocated once per high-water mark.
struct ScratchBuffer {
    private var storage: UnsafeMutableRawPointer?
    private var bytes = 0

    mutating func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        reserve(count * 4).bindMemory(to: Float.self, capacity: count)
    }

    mutating func halves(_ count: Int) -> UnsafeMutablePointer<UInt16> {
        reserve(count * 2).bindMemory(to: UInt16.self, capacity: count)
    }

    private mutating func reserve(_ needed: Int) -> UnsafeMutableRawPointer {
        if let storage, bytes >= needed { return storage }
        storage?.deallocate()
        bytes = max(needed, 64)
        storage = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        return storage!
    }
}

/// Rounds each value to the nearest bf16 (ties to even) and stores it as f32: what a bf16 conversion keeps.
public func roundToBFloat16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
    parallelFor(count, grain: 1 << 16) { range in
        let input = UnsafeRawPointer(source).assumingMemoryBound(to: UInt32.self)
        let output = UnsafeMutableRawPointer(destination).assumingMemoryBound(to: UInt32.self)
        var index = range.lowerBound
        let keep = SIMD8<UInt32>(repeating: 0xFFFF_0000)
        let half = SIMD8<UInt32>(repeating: 0x7FFF)
        let one = SIMD8<UInt32>(repeating: 1)
        while index + 8 <= range.upperBound {
            let bits = UnsafeRawPointer(input + index).loadUnaligned(as: SIMD8<UInt32>.self)
            let rounded = (bits &+ half &+ ((bits &>> 16) & one)) & keep
            UnsafeMutableRawPointer(output + index).storeBytes(of: rounded, as: SIMD8<UInt32>.self)
            index += 8
        }
        while index < range.upperBound {
            let bits = input[index]
            output[index] = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000
            index += 1
        }
    }
}
