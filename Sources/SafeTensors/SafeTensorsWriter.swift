import FileErrors
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Collects named tensors and writes them as one safetensors file.
///
/// Output is deterministic: header keys sorted by name, header padded with spaces to a multiple of 8 bytes,
/// data laid out in the reference writer's order (by dtype, widest first, then by name), which keeps
/// every tensor aligned to its element size.
public struct SafeTensorsWriter {
    /// Written as the header's `__metadata__` when not empty.
    public var metadata: [String: String]

    private var tensors: [String: (dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8])] = [:]

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds Float values stored as F32, F16 or BF16 (the half types round to nearest even).
    public mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>,
                             as dtype: SafeTensorsDType = .f32) throws {
        try checkNew(name, shape: shape, dtype: dtype, count: floats.count)
        var bytes = [UInt8]()
        bytes.reserveCapacity(floats.count * dtype.byteSize)
        switch dtype {
        case .f32: for value in floats { append(value.bitPattern, to: &bytes) }
        case .f16: for value in floats { append(HalfFloat.floatToF16(value), to: &bytes) }
        case .bf16: for value in floats { append(HalfFloat.floatToBF16(value), to: &bytes) }
        default:
            throw SafeTensorsError("tensor '\(name)': cannot write Float values as \(dtype.rawValue); use F32, F16 or BF16")
        }
        tensors[name] = (dtype, shape, bytes)
    }

    /// Adds Float values stored as F32, F16 or BF16 (the half types round to nearest even).
    public mutating func add(_ name: String, shape: [Int], floats: [Float], as dtype: SafeTensorsDType = .f32) throws {
        try floats.withUnsafeBufferPointer { try add(name, shape: shape, floats: $0, as: dtype) }
    }

    /// Adds integer values stored as I64 or I32 (each value must fit).
    public mutating func add(_ name: String, shape: [Int], ints: [Int], as dtype: SafeTensorsDType = .i64) throws {
        try checkNew(name, shape: shape, dtype: dtype, count: ints.count)
        var bytes = [UInt8]()
        bytes.reserveCapacity(ints.count * dtype.byteSize)
        switch dtype {
        case .i64: for value in ints { append(UInt64(bitPattern: Int64(value)), to: &bytes) }
        case .i32:
            for (index, value) in ints.enumerated() {
                guard let narrow = Int32(exactly: value) else {
                    throw SafeTensorsError("tensor '\(name)': value \(value) at index \(index) does not fit in I32")
                }
                append(UInt32(bitPattern: narrow), to: &bytes)
            }
        default:
            throw SafeTensorsError("tensor '\(name)': cannot write Int values as \(dtype.rawValue); use I64 or I32")
        }
        tensors[name] = (dtype, shape, bytes)
    }

    /// The complete file as bytes.
    public func data() -> Data {
        var data = Data()
        for chunk in chunks() { data.append(contentsOf: chunk) }
        return data
    }

    /// Writes the file to `url` atomically: into a temporary file in the same directory, then renamed
    /// over `url`, so an existing file is never left half-written.
    public func write(to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw SafeTensorsError("\(url.path): cannot create temporary file in \(directory.path): \(FileError.reason(errno: errno))")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            for chunk in chunks() { try handle.write(contentsOf: chunk) }
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw SafeTensorsError("\(url.path): cannot write: \(FileError.reason(error, path: temporary.path))")
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw SafeTensorsError("\(url.path): cannot move the written file into place: \(reason)")
        }
    }

    /// The 8-byte length, the padded header, then each tensor's bytes in layout order.
    private func chunks() -> [[UInt8]] {
        let layout = tensors.keys.sorted {
            let (a, b) = (Self.layoutRank(tensors[$0]!.dtype), Self.layoutRank(tensors[$1]!.dtype))
            return a != b ? a < b : $0 < $1
        }
        var offsets: [String: Range<Int>] = [:]
        var end = 0
        for name in layout {
            let count = tensors[name]!.bytes.count
            offsets[name] = end ..< end + count
            end += count
        }
        var header = [UInt8](headerJSON(offsets: offsets).utf8)
        header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
        var length = [UInt8]()
        append(UInt64(header.count), to: &length)
        return [length, header] + layout.map { tensors[$0]!.bytes }
    }

    /// Position of each writable dtype in the reference writer's layout (its Dtype enum, reversed).
    private static func layoutRank(_ dtype: SafeTensorsDType) -> Int {
        [SafeTensorsDType.i64, .f32, .i32, .bf16, .f16].firstIndex(of: dtype) ?? 0
    }

    private func headerJSON(offsets: [String: Range<Int>]) -> String {
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\(jsonString(Header.metadataKey)):{\(pairs.joined(separator: ","))}")
        }
        for name in tensors.keys.sorted() {
            let (dtype, shape, _) = tensors[name]!
            let range = offsets[name]!
            entries.append("\(jsonString(name)):{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],"
                + "\"data_offsets\":[\(range.lowerBound),\(range.upperBound)]}")
        }
        return "{\(entries.joined(separator: ","))}"
    }

    private func checkNew(_ name: String, shape: [Int], dtype: SafeTensorsDType, count: Int) throws {
        guard name != Header.metadataKey else { throw SafeTensorsError("tensor name '\(name)' is reserved for metadata") }
        guard tensors[name] == nil else { throw SafeTensorsError("tensor '\(name)' was already added") }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw SafeTensorsError("tensor '\(name)': shape \(shape) has a negative dimension") }
        guard let bytes = Header.byteCount(shape: shape, dtype: dtype), bytes / dtype.byteSize == count else {
            throw SafeTensorsError("tensor '\(name)': shape \(shape) does not hold \(count) values")
        }
    }
}

private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}

/// A JSON string literal: quotes, backslashes and control characters escaped, the rest as UTF-8.
private func jsonString(_ string: String) -> String {
    var out = "\""
    for scalar in string.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
