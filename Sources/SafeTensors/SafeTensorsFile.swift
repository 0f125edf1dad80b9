import FileErrors
import Foundation

/// A safetensors file, read and validated in full at init; tensors are decoded on request.
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON header, then the data buffer.
/// Every problem is thrown as `SafeTensorsError` before any tensor-sized allocation.
public struct SafeTensorsFile {
    /// Where the bytes came from, as used in error messages: the file path, or "safetensors data".
    public let source: String
    /// Tensor names, sorted.
    public let names: [String]
    /// The header's `__metadata__` (empty when absent).
    public let metadata: [String: String]

    private let data: Data
    private let bufferStart: Int
    private let tensors: [String: TensorInfo]

    /// Reads (memory-mapping when safe) and validates the file at `url`.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafeTensorsError("\(url.path): cannot read file: \(FileError.reason(error, path: url.path))")
        }
        try self.init(data: data, source: url.path)
    }

    /// Validates safetensors bytes held in memory.
    public init(data: Data) throws {
        try self.init(data: data, source: "safetensors data")
    }

    private init(data: Data, source: String) throws {
        let data = data.startIndex == 0 ? data : Data(data)  // Rebase slices so offsets are plain indices.
        guard data.count >= 8 else {
            throw SafeTensorsError("\(source): \(data.count) bytes is too short for the 8-byte header length")
        }
        let declared = data.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let available = UInt64(data.count - 8)
        guard declared > 0 else { throw SafeTensorsError("\(source): header length is 0") }
        guard declared <= UInt64(Header.maxLength) else {
            throw SafeTensorsError("\(source): header length \(declared) exceeds the \(Header.maxLength)-byte limit")
        }
        guard declared <= available else {
            throw SafeTensorsError("\(source): header length \(declared) runs past the end of the file "
                + "(\(available) bytes after the length)")
        }
        let headerLength = Int(declared)
        let header = try Header(bytes: [UInt8](data[8..<8 + headerLength]),
                                bufferLength: data.count - 8 - headerLength, source: source)
        self.source = source
        self.data = data
        self.bufferStart = 8 + headerLength
        self.tensors = header.tensors
        self.metadata = header.metadata
        self.names = header.tensors.keys.sorted()
    }

    /// Element type, shape and byte range of tensor `name`.
    public func info(_ name: String) throws -> TensorInfo {
        guard let info = tensors[name] else {
            let listed = names.prefix(10).map { "'\($0)'" }.joined(separator: ", ")
            let more = names.count > 10 ? ", … (\(names.count) in all)" : ""
            throw SafeTensorsError("\(source): no tensor '\(name)'; the file holds \(names.isEmpty ? "none" : listed + more)")
        }
        return info
    }

    /// Tensor `name` converted to Float (exact for F32, F16, BF16; rounded for wide integers and F64).
    public func floats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        let info = try info(name)
        let values = withBytes(of: info) { TensorDecoding.floats($0, dtype: info.dtype, count: info.elementCount) }
        guard let values else {
            throw SafeTensorsError("\(source): tensor '\(name)': cannot convert \(info.dtype.rawValue) to Float")
        }
        return (info.shape, values)
    }

    /// Tensor `name` as Int; only integer and BOOL dtypes.
    public func ints(_ name: String) throws -> (shape: [Int], values: [Int]) {
        let info = try info(name)
        let values = try withBytes(of: info) { raw in
            try TensorDecoding.ints(raw, dtype: info.dtype, count: info.elementCount) { value in
                SafeTensorsError("\(source): tensor '\(name)': U64 value \(value) does not fit in Int")
            }
        }
        guard let values else {
            throw SafeTensorsError("\(source): tensor '\(name)': \(info.dtype.rawValue) is not an integer dtype")
        }
        return (info.shape, values)
    }

    /// The raw little-endian bytes of tensor `name`.
    public func bytes(_ name: String) throws -> Data {
        let info = try info(name)
        return data.subdata(in: bufferStart + info.dataOffsets.lowerBound ..< bufferStart + info.dataOffsets.upperBound)
    }

    private func withBytes<T>(of info: TensorInfo, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try data.withUnsafeBytes { all in
            let start = bufferStart + info.dataOffsets.lowerBound
            return try body(UnsafeRawBufferPointer(rebasing: all[start ..< start + info.dataOffsets.count]))
        }
    }
}
