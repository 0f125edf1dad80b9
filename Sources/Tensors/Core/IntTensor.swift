/// Integer data beside float tensors: token ids, class targets, padding masks. Never differentiated.
public struct IntTensor {
    public var shape: [Int]
    public var values: [Int32]

    public init(_ values: [Int32], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values do not fill shape \(shape)")
        self.shape = shape
        self.values = values
    }

    public init(_ values: [Int], shape: [Int]) { self.init(values.map { Int32($0) }, shape: shape) }

    public var count: Int { values.count }
}
