/// One tensor's header entry: element type, shape, and where its bytes sit in the data buffer.
public struct TensorInfo: Equatable, Sendable {
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Byte range relative to the start of the data buffer (the header's `data_offsets`).
    public let dataOffsets: Range<Int>

    public init(dtype: SafeTensorsDType, shape: [Int], dataOffsets: Range<Int>) {
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }

    /// Number of elements: the product of `shape` (1 for a scalar).
    public var elementCount: Int { dataOffsets.count / dtype.byteSize }
}
