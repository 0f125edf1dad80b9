/// Little-endian element decoding from a tensor's bytes. Callers have validated that `raw`
/// holds exactly `count` elements of `dtype`.
enum TensorDecoding {
    static func floats(_ raw: UnsafeRawBufferPointer, dtype: SafeTensorsDType, count: Int) -> [Float]? {
        switch dtype {
        case .f32:
            #if _endian(little)
            return Array(unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0 { UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: raw.baseAddress!, byteCount: count * 4) }
                initialized = count
            }
            #else
            return map(raw, count) { Float(bitPattern: load(raw, $0, UInt32.self)) }
            #endif
        case .f16: return map(raw, count) { HalfFloat.f16ToFloat(load(raw, $0, UInt16.self)) }
        case .bf16: return map(raw, count) { HalfFloat.bf16ToFloat(load(raw, $0, UInt16.self)) }
        case .f64: return map(raw, count) { Float(Double(bitPattern: load(raw, $0, UInt64.self))) }
        case .i64: return map(raw, count) { Float(Int64(bitPattern: load(raw, $0, UInt64.self))) }
        case .i32: return map(raw, count) { Float(Int32(bitPattern: load(raw, $0, UInt32.self))) }
        case .i16: return map(raw, count) { Float(Int16(bitPattern: load(raw, $0, UInt16.self))) }
        case .i8: return map(raw, count) { Float(Int8(bitPattern: raw[$0])) }
        case .u64: return map(raw, count) { Float(load(raw, $0, UInt64.self)) }
        case .u32: return map(raw, count) { Float(load(raw, $0, UInt32.self)) }
        case .u16: return map(raw, count) { Float(load(raw, $0, UInt16.self)) }
        case .u8: return map(raw, count) { Float(raw[$0]) }
        case .bool: return map(raw, count) { raw[$0] == 0 ? 0 : 1 }
        case .f8e4m3, .f8e5m2: return nil
        }
    }

    /// Integer elements as Int; nil for non-integer dtypes. Throws (via `tooLarge`) for a U64 above Int.max.
    static func ints(_ raw: UnsafeRawBufferPointer, dtype: SafeTensorsDType, count: Int,
                     tooLarge: (UInt64) -> SafeTensorsError) throws -> [Int]? {
        switch dtype {
        case .i64: return map(raw, count) { Int(Int64(bitPattern: load(raw, $0, UInt64.self))) }
        case .i32: return map(raw, count) { Int(Int32(bitPattern: load(raw, $0, UInt32.self))) }
        case .i16: return map(raw, count) { Int(Int16(bitPattern: load(raw, $0, UInt16.self))) }
        case .i8: return map(raw, count) { Int(Int8(bitPattern: raw[$0])) }
        case .u32: return map(raw, count) { Int(load(raw, $0, UInt32.self)) }
        case .u16: return map(raw, count) { Int(load(raw, $0, UInt16.self)) }
        case .u8: return map(raw, count) { Int(raw[$0]) }
        case .bool: return map(raw, count) { raw[$0] == 0 ? 0 : 1 }
        case .u64:
            return try (0..<count).map { index in
                let value = load(raw, index, UInt64.self)
                guard let int = Int(exactly: value) else { throw tooLarge(value) }
                return int
            }
        case .f64, .f32, .f16, .bf16, .f8e4m3, .f8e5m2: return nil
        }
    }

    /// Element `index` of a little-endian array of `T`; no alignment needed.
    @inline(__always)
    private static func load<T: FixedWidthInteger>(_ raw: UnsafeRawBufferPointer, _ index: Int, _: T.Type) -> T {
        T(littleEndian: raw.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self))
    }

    @inline(__always)
    private static func map<T>(_ raw: UnsafeRawBufferPointer, _ count: Int, _ element: (Int) -> T) -> [T] {
        Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = element(index) }
            initialized = count
        }
    }
}
