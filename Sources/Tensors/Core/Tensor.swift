/// A Float32 tensor: contiguous row-major values over `shape`, backed by shared `Storage`.
/// Views (`reshaped`, `rows`) share storage; `offset` locates the first element.
public final class Tensor {
    public let shape: [Int]
    public let storage: Storage
    public let offset: Int
    public let count: Int

    /// When true, backward passes accumulate into `grad`. Parameters set it; op outputs inherit it.
    public var requiresGrad: Bool
    /// Accumulated gradient, same shape. Allocated zeroed on first use; kept until `zeroGrad()`.
    public var grad: Tensor?
    /// Keeps the gradient of an op output after backward (as torch's `retain_grad()`); by default an
    /// intermediate's gradient is freed once its op has propagated it.
    public var retainsGrad = false
    /// This parameter's index in `Autograd.watchFirstUses`' list, or -1 (data-parallel gradient readiness).
    public var watchSlot = -1

    public init(shape: [Int], storage: Storage, offset: Int = 0, requiresGrad: Bool = false) {
        let count = shape.reduce(1, *)
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(offset + count <= storage.count, "shape \(shape) at offset \(offset) exceeds storage \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.offset = offset
        self.count = count
        self.requiresGrad = requiresGrad
    }

    /// Uninitialised tensor; every element must be written before it is read.
    public convenience init(uninitialized shape: [Int]) {
        self.init(shape: shape, storage: Storage(count: shape.reduce(1, *)))
    }

    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, storage: Storage(zeros: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    public convenience init(repeating value: Float, shape: [Int], requiresGrad: Bool = false) {
        self.init(uninitialized: shape)
        data.update(repeating: value, count: count)
        self.requiresGrad = requiresGrad
    }

    public convenience init(_ values: [Float], shape: [Int], requiresGrad: Bool = false) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values do not fill shape \(shape)")
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
        self.requiresGrad = requiresGrad
    }

    public convenience init(scalar: Float) { self.init([scalar], shape: []) }

    /// Pointer to the first element. Valid while the tensor is alive.
    @inline(__always) public var data: UnsafeMutablePointer<Float> { storage.pointer + offset }

    public var rank: Int { shape.count }
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }
    public var item: Float {
        precondition(count == 1, "item needs a one-element tensor, shape is \(shape)")
        return data[0]
    }

    /// Size of axis `axis` (negative counts from the end).
    public func size(_ axis: Int) -> Int { shape[normalizedAxis(axis)] }

    public func normalizedAxis(_ axis: Int) -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        precondition(resolved >= 0 && resolved < max(rank, 1), "axis \(axis) out of range for shape \(shape)")
        return resolved
    }

    /// Gradient buffer, allocated zeroed on first use. Backward kernels accumulate into it.
    public func gradData() -> UnsafeMutablePointer<Float> {
        if let grad { return grad.data }
        let fresh = Tensor(zeros: shape)
        grad = fresh
        return fresh.data
    }

    /// Gradient buffer for a backward kernel that writes every element of its contribution: a fresh, uninitialised
    /// buffer and `overwrite` true when there is no gradient yet (store, do not add: no zeroing pass and no read),
    /// else the existing buffer and false (add). Only for kernels that cover the whole tensor in one call.
    public func gradDataForWriting() -> (pointer: UnsafeMutablePointer<Float>, overwrite: Bool) {
        if let grad { return (grad.data, false) }
        let fresh = Tensor(uninitialized: shape)
        grad = fresh
        return (fresh.data, true)
    }

    public func zeroGrad() { grad = nil }

    /// A copy that shares nothing and records no history.
    public func copy() -> Tensor {
        let result = Tensor(uninitialized: shape)
        result.data.update(from: data, count: count)
        return result
    }

    /// The same values with no autodiff history and no gradient requirement.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage, offset: offset) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(preview)\(count > 8 ? ", ..." : "")])"
    }
}
