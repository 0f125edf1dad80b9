import XCTest
import SafeTensors

final class HalfFloatTests: XCTestCase {
    func testF16KnownValues() {
        XCTAssertEqual(HalfFloat.f16ToFloat(0x3C00), 1.0)
        XCTAssertEqual(HalfFloat.f16ToFloat(0xC000), -2.0)
        XCTAssertEqual(HalfFloat.f16ToFloat(0x7BFF), 65504.0)
        XCTAssertEqual(HalfFloat.f16ToFloat(0x0001), 0x1p-24)  // smallest subnormal, 5.96e-8
        XCTAssertEqual(HalfFloat.f16ToFloat(0x03FF), 1023 * 0x1p-24)  // largest subnormal
        XCTAssertEqual(HalfFloat.f16ToFloat(0x0400), 0x1p-14)  // smallest normal
        XCTAssertEqual(HalfFloat.f16ToFloat(0x8000).bitPattern, (-0.0 as Float).bitPattern)
        XCTAssertEqual(HalfFloat.f16ToFloat(0x7C00), .infinity)
        XCTAssertEqual(HalfFloat.f16ToFloat(0xFC00), -.infinity)
        XCTAssertTrue(HalfFloat.f16ToFloat(0x7E00).isNaN)
        XCTAssertTrue(HalfFloat.f16ToFloat(0x7C01).isNaN)  // signalling NaN is still NaN
    }

    func testF16RoundsToNearestEven() {
        XCTAssertEqual(HalfFloat.floatToF16(1.0), 0x3C00)
        XCTAssertEqual(HalfFloat.floatToF16(1 + 0x1p-11), 0x3C00)  // halfway, ties to even (down)
        XCTAssertEqual(HalfFloat.floatToF16(1 + 3 * 0x1p-11), 0x3C02)  // halfway, ties to even (up)
        XCTAssertEqual(HalfFloat.floatToF16(65519), 0x7BFF)  // below the halfway point to 65536
        XCTAssertEqual(HalfFloat.floatToF16(65520), 0x7C00)  // halfway rounds to even: inf
        XCTAssertEqual(HalfFloat.floatToF16(0x1p-25), 0x0000)  // half the smallest subnormal, ties to 0
        XCTAssertEqual(HalfFloat.floatToF16(0x1.000002p-25), 0x0001)
        XCTAssertEqual(HalfFloat.floatToF16(-1e-30), 0x8000)
        XCTAssertEqual(HalfFloat.floatToF16(.infinity), 0x7C00)
        XCTAssertEqual(HalfFloat.floatToF16(.nan) & 0x7C00, 0x7C00)
        XCTAssertNotEqual(HalfFloat.floatToF16(.nan) & 0x03FF, 0)
    }

    /// Every F16 bit pattern decodes and re-encodes to itself (NaNs: to a NaN).
    func testF16RoundTripIsExhaustive() {
        for bits in UInt16.min...UInt16.max {
            let value = HalfFloat.f16ToFloat(bits)
            if value.isNaN {
                XCTAssertTrue(HalfFloat.f16ToFloat(HalfFloat.floatToF16(value)).isNaN)
            } else if HalfFloat.floatToF16(value) != bits {
                XCTFail("F16 0x\(String(bits, radix: 16)) re-encodes to 0x\(String(HalfFloat.floatToF16(value), radix: 16))")
            }
        }
    }

    #if !(os(macOS) && arch(x86_64))
    /// The integer conversions agree with the platform's Float16 on every pattern and on random Floats.
    func testF16MatchesPlatformFloat16() {
        // Float16 arithmetic is done in software here; when another test left this thread flushing denormals
        // (FTZ/DAZ, as the tensor engine sets), its subnormal results are flushed, so those patterns are
        // compared only when denormals are honoured. The integer conversions never depend on MXCSR.
        let flushing = denormalsAreFlushed()
        for bits in UInt16.min...UInt16.max {
            if flushing && bits & 0x7c00 == 0 && bits & 0x03ff != 0 { continue }
            let expected = Float(Float16(bitPattern: bits))
            let actual = HalfFloat.f16ToFloat(bits)
            XCTAssertTrue(expected.bitPattern == actual.bitPattern || (expected.isNaN && actual.isNaN), "0x\(String(bits, radix: 16))")
        }
        var rng = SplitMix64(state: 7)
        for _ in 0..<100_000 {
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            let expected = Float16(value).bitPattern
            let actual = HalfFloat.floatToF16(value)
            if flushing && (expected & 0x7c00 == 0 || !value.isNormal) { continue }
            XCTAssertTrue(expected == actual || value.isNaN, "\(value): \(expected) vs \(actual)")
        }
    }
    #endif

    func testBF16KnownValuesAndRounding() {
        XCTAssertEqual(HalfFloat.bf16ToFloat(0x3F80), 1.0)
        XCTAssertEqual(HalfFloat.bf16ToFloat(0xC060), -3.5)
        XCTAssertEqual(HalfFloat.bf16ToFloat(0x7F80), .infinity)
        XCTAssertEqual(HalfFloat.floatToBF16(1.0), 0x3F80)
        XCTAssertEqual(HalfFloat.floatToBF16(Float(bitPattern: 0x3F80_8000)), 0x3F80)  // halfway, ties to even (down)
        XCTAssertEqual(HalfFloat.floatToBF16(Float(bitPattern: 0x3F81_8000)), 0x3F82)  // halfway, ties to even (up)
        XCTAssertEqual(HalfFloat.floatToBF16(Float(bitPattern: 0x3F80_8001)), 0x3F81)
        XCTAssertEqual(HalfFloat.floatToBF16(.greatestFiniteMagnitude), 0x7F80)  // rounds up to inf
        XCTAssertEqual(HalfFloat.floatToBF16(-.infinity), 0xFF80)
        // A NaN whose payload sits only in the low half must not become inf.
        XCTAssertTrue(HalfFloat.bf16ToFloat(HalfFloat.floatToBF16(Float(bitPattern: 0x7F80_0001))).isNaN)
    }

    func testBF16RoundTripIsExhaustive() {
        for bits in UInt16.min...UInt16.max {
            let value = HalfFloat.bf16ToFloat(bits)
            if value.isNaN {
                XCTAssertTrue(HalfFloat.bf16ToFloat(HalfFloat.floatToBF16(value)).isNaN)
            } else {
                XCTAssertEqual(HalfFloat.floatToBF16(value), bits)
            }
        }
    }
}

/// True when this thread flushes denormals. The operands come from run-time values so that the optimiser
/// cannot fold the product at compile time (where denormals are always honoured).
func denormalsAreFlushed() -> Bool {
    let one = UInt32(min(CommandLine.arguments.count, 1))  // 1 at run time, unknown to the compiler
    let smallest = Float(bitPattern: one)                  // the least subnormal, 2⁻¹⁴⁹
    return smallest * Float(one) == 0
}
