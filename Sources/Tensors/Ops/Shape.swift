/// Shape ops: reshape (a view), transpose and permute (copies), slice, concat and split.
///
/// Every backward accumulates into the input's own gradient buffer, including for views: a view shares
/// its input's values but has a gradient of its own.

extension Tensor {
    /// The same values read with another shape; one dimension may be -1 (inferred). A view sharing storage.
    public func reshaped(_ shape: [Int]) -> Tensor {
        let newShape = resolvedShape(shape)
        let out = Tensor(shape: newShape, storage: storage, offset: offset)
        guard Autograd.needsGradient(self) else { return out }
        Autograd.record(out) { [self] in accumulateGradient(out.grad!.data, into: self) }
        return out
    }

    /// Swaps axes `a` and `b` (negative counts from the end). A copy.
    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        var axes = Array(0..<rank)
        axes.swapAt(normalizedAxis(a), normalizedAxis(b))
        return permuted(axes)
    }

    /// Output axis k is input axis `axes[k]`, as torch.permute. A copy; runs along the last axis are copied
    /// whole when it stays last, e.g. (B, T, H, D) → (B, H, T, D), otherwise in 32×32 tiles.
    public func permuted(_ axes: [Int]) -> Tensor {
        let order = axes.map { normalizedAxis($0) }
        precondition(order.count == rank && Set(order).count == rank,
                     "permutation \(axes) does not reorder the \(rank) axes of shape \(shape)")
        let strides = contiguousStrides(shape)
        let out = Tensor(uninitialized: order.map { shape[$0] })
        gatherStrided(data, strides: order.map { strides[$0] }, shape: out.shape, into: out.data, accumulate: false)
        guard Autograd.needsGradient(self) else { return out }
        Autograd.record(out) { [self] in
            // dx is dy permuted back: input axis i is output axis inverse[i].
            var inverse = [Int](repeating: 0, count: rank)
            for (k, axis) in order.enumerated() { inverse[axis] = k }
            let outStrides = contiguousStrides(out.shape)
            gatherStrided(out.grad!.data, strides: inverse.map { outStrides[$0] }, shape: shape,
                          into: gradData(), accumulate: true)
        }
        return out
    }

    /// `shape` with its -1 replaced by the size that keeps `count` elements.
    func resolvedShape(_ shape: [Int]) -> [Int] {
        let inferred = shape.indices.filter { shape[$0] == -1 }
        precondition(inferred.count <= 1, "reshape \(self.shape) → \(shape): at most one -1")
        precondition(shape.allSatisfy { $0 >= -1 }, "reshape \(self.shape) → \(shape): negative size")
        var result = shape
        if let axis = inferred.first {
            let known = shape.filter { $0 != -1 }.reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshape \(self.shape) → \(shape): cannot infer the -1")
            result[axis] = count / known
        }
        precondition(result.reduce(1, *) == count, "reshape \(self.shape) → \(shape): \(count) elements do not fit")
        return result
    }
}

/// x[..., range, ...] along `axis`. A view when the slice is one contiguous block (every axis before
/// `axis` has size 1), otherwise a copy.
public func slice(_ x: Tensor, axis: Int, range: Range<Int>) -> Tensor {
    precondition(x.rank > 0, "slice of a scalar")
    let a = x.normalizedAxis(axis)
    precondition(range.lowerBound >= 0 && range.upperBound <= x.shape[a],
                 "slice \(range) out of bounds for axis \(axis) of shape \(x.shape)")
    let outer = x.shape[..<a].reduce(1, *), inner = x.shape[(a + 1)...].reduce(1, *)
    let block = range.count * inner, rowStride = x.shape[a] * inner, start = range.lowerBound * inner
    var outShape = x.shape
    outShape[a] = range.count
    let out: Tensor
    if outer == 1 {
        out = Tensor(shape: outShape, storage: x.storage, offset: x.offset + start)
    } else {
        out = Tensor(uninitialized: outShape)
        copyBlocks(outer, length: block, from: x.data + start, stride: rowStride, to: out.data, stride: block,
                   accumulate: false)
    }
    guard Autograd.needsGradient(x) else { return out }
    Autograd.record(out) {
        copyBlocks(outer, length: block, from: out.grad!.data, stride: block, to: x.gradData() + start,
                   stride: rowStride, accumulate: true)
    }
    return out
}

/// Joins tensors along `axis`; all other dimensions must agree. xs[i]: (..., Aᵢ, ...) → (..., ΣAᵢ, ...).
public func concat(_ xs: [Tensor], axis: Int) -> Tensor {
    precondition(!xs.isEmpty, "concat of no tensors")
    let first = xs[0]
    precondition(first.rank > 0, "concat of scalars")
    let a = first.normalizedAxis(axis)
    for x in xs {
        precondition(x.rank == first.rank && x.shape[..<a] == first.shape[..<a]
                     && x.shape[(a + 1)...] == first.shape[(a + 1)...],
                     "concat along axis \(axis): shape \(x.shape) does not match \(first.shape)")
    }
    let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
    let total = xs.reduce(0) { $0 + $1.shape[a] }
    var outShape = first.shape
    outShape[a] = total
    let out = Tensor(uninitialized: outShape)
    // Input i fills columns starts[i] ..< starts[i] + its block of each (outer) row of the output.
    var starts: [Int] = []
    var position = 0
    for x in xs {
        starts.append(position * inner)
        position += x.shape[a]
    }
    let rowStride = total * inner
    for (x, start) in zip(xs, starts) {
        let block = x.shape[a] * inner
        copyBlocks(outer, length: block, from: x.data, stride: block, to: out.data + start, stride: rowStride,
                   accumulate: false)
    }
    guard Autograd.needsGradient(xs) else { return out }
    Autograd.record(out) {
        let g = out.grad!.data
        for (x, start) in zip(xs, starts) where x.requiresGrad {
            let block = x.shape[a] * inner
            copyBlocks(outer, length: block, from: g + start, stride: rowStride, to: x.gradData(), stride: block,
                       accumulate: true)
        }
    }
    return out
}

/// Cuts x along `axis` into pieces of `sizes` (summing to the axis size). Each piece is a `slice` with
/// its own backward into its region of x's gradient.
public func split(_ x: Tensor, sizes: [Int], axis: Int) -> [Tensor] {
    precondition(x.rank > 0, "split of a scalar")
    let a = x.normalizedAxis(axis)
    precondition(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == x.shape[a],
                 "split sizes \(sizes) do not add up to axis \(axis) of shape \(x.shape)")
    var start = 0
    return sizes.map { size in
        defer { start += size }
        return slice(x, axis: a, range: start..<(start + size))
    }
}

// MARK: - Kernels

/// Row-major strides of a contiguous tensor of `shape`.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var step = 1
    for axis in shape.indices.reversed() {
        strides[axis] = step
        step *= shape[axis]
    }
    return strides
}

/// For each of `count` rows: dst[r·dstStride ..< +length] (+)= src[r·srcStride ..< +length].
func copyBlocks(_ count: Int, length: Int, from src: UnsafePointer<Float>, stride srcStride: Int,
                to dst: UnsafeMutablePointer<Float>, stride dstStride: Int, accumulate: Bool) {
    guard length > 0 else { return }
    parallelFor(count, grain: max(1, (1 << 15) / length)) { rows in
        for r in rows {
            let s = src + r * srcStride, d = dst + r * dstStride
            if accumulate {
                for j in 0..<length { d[j] += s[j] }
            } else {
                d.update(from: s, count: length)
            }
        }
    }
}

/// dst: contiguous over `shape` (=, or += when `accumulate`) src read with `strides` (one per axis of
/// `shape`). Size-1 axes are dropped and axes that stay adjacent in memory merged first. When src's
/// unit-stride axis is dst's last, rows are copied whole; otherwise 32×32 tiles of the two unit-stride axes
/// keep both reads and writes within a few cache lines.
func gatherStrided(_ src: UnsafePointer<Float>, strides: [Int], shape: [Int],
                   into dst: UnsafeMutablePointer<Float>, accumulate: Bool) {
    var sizes: [Int] = [], srcStrides: [Int] = []
    for (size, stride) in zip(shape, strides) where size != 1 {
        if let last = sizes.last, srcStrides[srcStrides.count - 1] == stride * size {
            sizes[sizes.count - 1] = last * size
            srcStrides[srcStrides.count - 1] = stride
        } else {
            sizes.append(size)
            srcStrides.append(stride)
        }
    }
    let count = sizes.reduce(1, *)
    guard count > 0 else { return }
    guard let lastSize = sizes.last else {
        if accumulate { dst[0] += src[0] } else { dst[0] = src[0] }
        return
    }
    let dstStrides = contiguousStrides(sizes)
    let rank = sizes.count

    if srcStrides[rank - 1] == 1 {
        // Whole rows: row k of dst starts at the src offset of its outer index.
        let outerSizes = Array(sizes.dropLast()), outerStrides = Array(srcStrides.dropLast())
        parallelFor(count / lastSize, grain: max(1, (1 << 15) / lastSize)) { rows in
            var walker = OffsetWalker(sizes: outerSizes, strides: outerStrides, start: rows.lowerBound)
            for row in rows {
                let s = src + walker.offset, d = dst + row * lastSize
                if accumulate {
                    for j in 0..<lastSize { d[j] += s[j] }
                } else {
                    d.update(from: s, count: lastSize)
                }
                walker.advance()
            }
        }
        return
    }

    // Tiles over axis p (unit stride in src) and the last axis q (unit stride in dst).
    guard let p = srcStrides.firstIndex(of: 1) else {
        // No unit-stride axis (src is not a permuted contiguous tensor): element by element.
        var walker = OffsetWalker(sizes: sizes, strides: srcStrides, start: 0)
        for i in 0..<count {
            if accumulate { dst[i] += src[walker.offset] } else { dst[i] = src[walker.offset] }
            walker.advance()
        }
        return
    }
    let q = rank - 1, tile = 32
    let rows = sizes[p], columns = sizes[q], columnStride = srcStrides[q], rowStride = dstStrides[p]
    let outerAxes = (0..<rank).filter { $0 != p && $0 != q }
    let outerSizes = outerAxes.map { sizes[$0] }
    let outerSrc = outerAxes.map { srcStrides[$0] }, outerDst = outerAxes.map { dstStrides[$0] }
    let rowTiles = (rows + tile - 1) / tile
    let outerCount = outerSizes.reduce(1, *)
    parallelFor(outerCount * rowTiles, grain: max(1, (1 << 15) / (tile * columns))) { items in
        for item in items {
            let outerIndex = item / rowTiles, i0 = (item % rowTiles) * tile
            var sourceBase = 0, targetBase = 0, rest = outerIndex
            for k in outerSizes.indices.reversed() {
                let index = rest % outerSizes[k]
                rest /= outerSizes[k]
                sourceBase += index * outerSrc[k]
                targetBase += index * outerDst[k]
            }
            let i1 = min(i0 + tile, rows)
            var j0 = 0
            while j0 < columns {
                let j1 = min(j0 + tile, columns)
                for i in i0..<i1 {
                    let s = src + sourceBase + i, d = dst + targetBase + i * rowStride
                    if accumulate {
                        for j in j0..<j1 { d[j] += s[j * columnStride] }
                    } else {
                        for j in j0..<j1 { d[j] = s[j * columnStride] }
                    }
                }
                j0 = j1
            }
        }
    }
}

/// Walks a strided index space in row-major order, tracking the element offset.
struct OffsetWalker {
    let sizes: [Int], strides: [Int]
    var index: [Int]
    var offset = 0

    init(sizes: [Int], strides: [Int], start: Int) {
        self.sizes = sizes
        self.strides = strides
        index = [Int](repeating: 0, count: sizes.count)
        var rest = start
        for axis in sizes.indices.reversed() {
            index[axis] = rest % sizes[axis]
            rest /= sizes[axis]
            offset += index[axis] * strides[axis]
        }
    }

    @inline(__always) mutating func advance() {
        var axis = sizes.count - 1
        while axis >= 0 {
            index[axis] += 1
            offset += strides[axis]
            if index[axis] < sizes[axis] { return }
            offset -= strides[axis] * sizes[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}
