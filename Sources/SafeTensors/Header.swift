/// The parsed and validated JSON header of a safetensors file.
struct Header {
    /// Largest header accepted, as in the reference implementation; checked before anything is allocated.
    static let maxLength = 100_000_000
    static let metadataKey = "__metadata__"

    var tensors: [String: TensorInfo] = [:]
    var metadata: [String: String] = [:]

    /// Parses `bytes` and checks every entry against a data buffer of `bufferLength` bytes:
    /// known dtype, offsets inside the buffer, size matching the shape, no duplicates, no overlaps.
    init(bytes: [UInt8], bufferLength: Int, source: String) throws {
        var scanner = HeaderScanner(bytes: bytes, source: source)
        guard scanner.peek() == UInt8(ascii: "{") else {
            throw SafeTensorsError("\(source): header is not a JSON object")
        }
        var seen = Set<String>()
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        try scanner.readObject { scanner, key in
            guard seen.insert(key).inserted else { throw SafeTensorsError("\(source): duplicate key '\(key)' in header") }
            if key == Self.metadataKey {
                metadata = try Self.readMetadata(&scanner)
            } else {
                tensors[key] = try Self.readTensor(&scanner, name: key, bufferLength: bufferLength)
            }
        }
        scanner.skipWhitespace()
        guard scanner.isAtEnd else { throw scanner.error("unexpected bytes after the header object") }
        try Self.checkNoOverlap(tensors, source: source)
        self.tensors = tensors
        self.metadata = metadata
    }

    private static func readMetadata(_ scanner: inout HeaderScanner) throws -> [String: String] {
        let source = scanner.source
        guard scanner.peek() == UInt8(ascii: "{") else {
            throw SafeTensorsError("\(source): '\(metadataKey)' must be an object of strings")
        }
        var metadata: [String: String] = [:]
        try scanner.readObject { scanner, key in
            guard metadata[key] == nil else { throw SafeTensorsError("\(source): duplicate metadata key '\(key)'") }
            guard scanner.peek() == UInt8(ascii: "\"") else {
                throw SafeTensorsError("\(source): metadata '\(key)' must be a string")
            }
            metadata[key] = try scanner.readString()
        }
        return metadata
    }

    private static func readTensor(_ scanner: inout HeaderScanner, name: String, bufferLength: Int) throws -> TensorInfo {
        let tensor = "\(scanner.source): tensor '\(name)'"
        guard scanner.peek() == UInt8(ascii: "{") else { throw SafeTensorsError("\(tensor): entry must be an object") }
        var dtype: SafeTensorsDType?
        var shape: [Int]?
        var offsets: [Int]?
        var seen = Set<String>()
        try scanner.readObject { scanner, field in
            guard seen.insert(field).inserted else { throw SafeTensorsError("\(tensor): duplicate field '\(field)'") }
            switch field {
            case "dtype":
                guard scanner.peek() == UInt8(ascii: "\"") else { throw SafeTensorsError("\(tensor): dtype must be a string") }
                let spelling = try scanner.readString()
                guard let known = SafeTensorsDType(rawValue: spelling) else {
                    throw SafeTensorsError("\(tensor): unknown dtype '\(spelling)'")
                }
                dtype = known
            case "shape":
                shape = try readIntArray(&scanner, context: "\(tensor): shape")
            case "data_offsets":
                offsets = try readIntArray(&scanner, context: "\(tensor): data_offsets")
            default:
                try scanner.skipValue()  // Unknown fields are ignored, as the reference reader does.
            }
        }
        guard let dtype else { throw SafeTensorsError("\(tensor): missing 'dtype'") }
        guard let shape else { throw SafeTensorsError("\(tensor): missing 'shape'") }
        guard let offsets else { throw SafeTensorsError("\(tensor): missing 'data_offsets'") }
        guard offsets.count == 2 else {
            throw SafeTensorsError("\(tensor): data_offsets must be [begin, end], found \(offsets.count) numbers")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw SafeTensorsError("\(tensor): data_offsets [\(begin), \(end)] end before they begin") }
        guard end <= bufferLength else {
            throw SafeTensorsError("\(tensor): data_offsets [\(begin), \(end)] run past the data buffer of \(bufferLength) bytes")
        }
        guard let byteCount = byteCount(shape: shape, dtype: dtype) else {
            throw SafeTensorsError("\(tensor): shape \(shape) of \(dtype.rawValue) overflows the byte count")
        }
        guard byteCount == end - begin else {
            throw SafeTensorsError("\(tensor): data_offsets [\(begin), \(end)] hold \(end - begin) bytes, "
                + "but shape \(shape) of \(dtype.rawValue) needs \(byteCount)")
        }
        return TensorInfo(dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    private static func readIntArray(_ scanner: inout HeaderScanner, context: String) throws -> [Int] {
        guard scanner.peek() == UInt8(ascii: "[") else {
            throw SafeTensorsError("\(context): expected an array of non-negative integers")
        }
        var values: [Int] = []
        try scanner.readArray { scanner in values.append(try scanner.readNonNegativeInt(context: context)) }
        return values
    }

    /// product(shape) × element size, or nil on overflow.
    static func byteCount(shape: [Int], dtype: SafeTensorsDType) -> Int? {
        var count = dtype.byteSize
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// Tensors may leave gaps in the buffer but must not share bytes. Empty tensors hold no bytes.
    private static func checkNoOverlap(_ tensors: [String: TensorInfo], source: String) throws {
        let ranges = tensors.filter { !$0.value.dataOffsets.isEmpty }
            .sorted { ($0.value.dataOffsets.lowerBound, $0.key) < ($1.value.dataOffsets.lowerBound, $1.key) }
        for (previous, next) in zip(ranges, ranges.dropFirst())
        where next.value.dataOffsets.lowerBound < previous.value.dataOffsets.upperBound {
            let (a, b) = (previous.value.dataOffsets, next.value.dataOffsets)
            throw SafeTensorsError("\(source): tensors '\(previous.key)' [\(a.lowerBound), \(a.upperBound)] and "
                + "'\(next.key)' [\(b.lowerBound), \(b.upperBound)] overlap")
        }
    }
}
