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
