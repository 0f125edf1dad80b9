import CDNNLMatmul

/// A bf16 copy of an fp32 buffer (round to nearest even), held in pooled storage (two bf16 values per float slot)
/// so that an op can convert an operand once and use it in several products: a linear layer converts its input
/// and weight once in forward and keeps both for backward, and its output gradient once for both backward
/// products, as torch.autocast keeps its casts (the generic backend would convert each operand per product).
struct BFloat16Copy {
    let buffer: BFloat16Buffer

    init(_ source: UnsafePointer<Float>, count: Int) {
        buffer = BFloat16Buffer(count: count)
        convertToBFloat16(source, buffer.pointer, count: count)
    }

    var pointer: UnsafeMutablePointer<UInt16> { buffer.pointer }
}

/// `count` bf16 values (uninitialised) in pooled storage, two per float slot.
struct BFloat16Buffer {
    private let storage: Storage

    init(count: Int) { storage = Storage(count: (count + 1) / 2) }

    var pointer: UnsafeMutablePointer<UInt16> {
        UnsafeMutableRawPointer(storage.pointer).assumingMemoryBound(to: UInt16.self)
    }
}

extension Matmul {
    /// The oneDNN backend whose bf16 kernels run every product when the precision is native bf16; nil otherwise
    /// (fp32, bf16-emulated, or a backend set by the program).
    static var nativeBF16: OneDNNBackend? { (backend as? BFloat16Backend)?.native }
}

/// f32 → bf16 bit patterns, round to nearest even, in parallel for large operands (the fastest conversion the CPU
/// has: `sp_f32_to_bf16`).
func convertToBFloat16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int) {
    parallelFor(count, grain: 1 << 16) { range in
        sp_f32_to_bf16(source + range.lowerBound, destination + range.lowerBound, Int64(range.count))
    }
}

/// Products of at most this many rows run as dot products over W as stored (`linearProductBF16`).
let fewRowsBF16 = 4

/// Whether the CPU has AVX512-BF16's dot-product instruction (asked once).
let hasBF16DotProduct = sp_gemv_bf16_available() != 0

/// y (rows, Out) = x16 (rows, In) · W16ᵀ + b (added inside the kernel), fp32 sums of bf16 products: a linear layer's
/// forward product in native bf16. Without a tape (`recording` false) and for rows ≤ `fewRowsBF16` it runs as
/// AVX512-BF16 dot products over W as stored, the output columns split over the threads: generation's products (one
/// row per sequence and step) are bound by reading W, which oneDNN's GEMM first reorders into its kernel's layout and
/// then reads again. Otherwise, and on a CPU without the instruction, oneDNN's GEMM.
func linearProductBF16(_ native: OneDNNBackend, rows: Int, outputs: Int, inputs: Int, x16: UnsafePointer<UInt16>,
                       w16: UnsafePointer<UInt16>, bias: Tensor?, y: UnsafeMutablePointer<Float>, recording: Bool) {
    let biasPointer = bias.map { UnsafePointer($0.data) }
    guard !recording, hasBF16DotProduct, (1...fewRowsBF16).contains(rows), outputs > 0, inputs > 0 else {
        native.gemmBF16(transA: false, transB: true, m: rows, n: outputs, k: inputs, a: x16, lda: inputs, b: w16,
                        ldb: inputs, bias: biasPointer, c: y, ldc: outputs)
        return
    }
    // blocks of 64 columns of W: 64·In bf16 values, enough work to be worth a thread
    parallelFor((outputs + 63) / 64) { blocks in
        let first = blocks.lowerBound * 64, last = min(outputs, blocks.upperBound * 64)
        sp_gemv_bf16(Int64(rows), Int64(first), Int64(last), Int64(inputs), x16, Int64(inputs), w16, Int64(inputs),
                     biasPointer, y, Int64(outputs))
    }
}
