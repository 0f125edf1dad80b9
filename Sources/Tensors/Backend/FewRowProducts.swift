import CDNNLMatmul

/// Products of a few rows without a tape — generation's, one row per sequence and step — as dot products over W as
/// stored. They are bound by reading W: a GEMM library first reorders W into its kernel's layout (bf16) or runs a
/// kernel built for many rows, where these read W once, four rows of W at a time against each row of x, the output
/// columns split over the threads in blocks of 64.
enum FewRowProducts {
    /// Products of at most this many rows take this path.
    static let maximumRows = 4

    static let hasBF16 = sp_gemv_bf16_available() != 0
    static let hasF32 = sp_gemv_f32_available() != 0

    /// y (rows, Out) = x16 (rows, In) · W16ᵀ + b, fp32 sums of bf16 products (AVX512-BF16). False (nothing done)
    /// where the CPU lacks the instruction or there are more rows.
    static func bf16(rows: Int, outputs: Int, inputs: Int, x: UnsafePointer<UInt16>, weight: UnsafePointer<UInt16>,
                     bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) -> Bool {
        guard hasBF16, (1...maximumRows).contains(rows), outputs > 0, inputs > 0 else { return false }
        parallelFor((outputs + 63) / 64) { blocks in
            let first = blocks.lowerBound * 64, last = min(outputs, blocks.upperBound * 64)
            sp_gemv_bf16(Int64(rows), Int64(first), Int64(last), Int64(inputs), x, Int64(inputs), weight, Int64(inputs),
                         bias, y, Int64(outputs))
        }
        return true
    }

    /// y (rows, Out) = x (rows, In) · Wᵀ + b in fp32 (AVX-512, or AVX2 with FMA). False (nothing done) where the CPU
    /// has neither or there are more rows.
    static func f32(rows: Int, outputs: Int, inputs: Int, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) -> Bool {
        guard hasF32, (1...maximumRows).contains(rows), outputs > 0, inputs > 0 else { return false }
        parallelFor((outputs + 63) / 64) { blocks in
            let first = blocks.lowerBound * 64, last = min(outputs, blocks.upperBound * 64)
            sp_gemv_f32(Int64(rows), Int64(first), Int64(last), Int64(inputs), x, Int64(inputs), weight, Int64(inputs),
                        bias, y, Int64(outputs))
        }
        return true
    }
}
