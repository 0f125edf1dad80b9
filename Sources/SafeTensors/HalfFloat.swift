/// Bit-exact conversions between Float and the 16-bit formats, written with integer operations
/// because `Float16` is missing on Intel macOS.
public enum HalfFloat {
    /// IEEE 754 binary16 → Float. Exact for every input: subnormals, ±inf, and NaN payloads are kept.
    public static func f16ToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x3FF)
        if exponent == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        }
        if exponent == 0 {
            // Zero or subnormal: mantissa × 2^-24, exact in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)  // rebias 15 → 127
    }

    /// Float → IEEE 754 binary16, rounding to nearest even; overflow goes to ±inf, NaN stays NaN.
    public static func floatToF16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: bits >> 16) & 0x8000
        let exponent = Int(bits >> 23) & 0xFF
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {
            // Keep the top payload bits; set the quiet bit so a NaN cannot truncate to inf.
            return mantissa == 0 ? sign | 0x7C00 : sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        if halfExponent <= 0 {
            // Result is subnormal (or zero): count units of 2^-24 in the 24-bit significand.
            if exponent == 0 { return sign }  // Float subnormals are far below half of 2^-24.
            let shift = 126 - exponent  // significand × 2^(exponent-150) = units × 2^-24
            if shift > 24 { return sign }
            let significand = mantissa | 0x80_0000
            return sign | UInt16(roundShiftedToNearestEven(significand, by: UInt32(shift)))
        }
        // Normal: a carry out of the mantissa bumps the exponent, and 0x7C00 (inf) is the correct overflow.
        let truncated = UInt32(halfExponent) << 10 | mantissa >> 13
        return sign | UInt16(roundedToNearestEven(truncated, remainder: mantissa & 0x1FFF, half: 0x1000))
    }

    /// bfloat16 → Float (bfloat16 is the top half of a Float).
    public static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Float → bfloat16, rounding to nearest even; NaN stays NaN.
    public static func floatToBF16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let bias: UInt32 = 0x7FFF + (bits >> 16 & 1)
        return UInt16(truncatingIfNeeded: (bits &+ bias) >> 16)
    }

    private static func roundShiftedToNearestEven(_ value: UInt32, by shift: UInt32) -> UInt32 {
        let remainder = value & (1 << shift - 1)
        return roundedToNearestEven(value >> shift, remainder: remainder, half: 1 << (shift - 1))
    }

    private static func roundedToNearestEven(_ truncated: UInt32, remainder: UInt32, half: UInt32) -> UInt32 {
        if remainder > half || (remainder == half && truncated & 1 == 1) { return truncated + 1 }
        return truncated
    }
}
