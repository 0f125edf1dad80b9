/// Reductions: sum, mean and max over all elements or over axes.
///
/// Axis reductions view x as (outer, reduced, inner) so the inner loop runs over contiguous memory.
/// Accumulation: contiguous runs are summed in Float SIMD lanes within blocks of 1024 elements and the
/// blocks in Double (`blockedSum`); columns (inner > 1) add 64 rows at a time in Float and fold those
/// partial sums into Double. Every output element is computed by one thread in a fixed order, so results
/// do not depend on the thread count.

/// Sum of all elements → shape [].
public func sum(_ x: Tensor) -> Tensor { reduceAll(x, scale: 1) }

/// Mean of all elements → shape [].
public func mean(_ x: Tensor) -> Tensor { reduceAll(x, scale: 1 / Double(x.count)) }

/// Sum over `axes` (negative counts from the end). x: (..., A, ...) → the same shape without the reduced
/// axes, or with them set to 1 when `keepDims`.
public func sum(_ x: Tensor, axes: [Int], keepDims: Bool = false) -> Tensor {
    reduceAxes(x, axes: axes, keepDims: keepDims, isMean: false)
}

/// Mean over `axes`; shapes as `sum(_:axes:keepDims:)`.
public func mean(_ x: Tensor, axes: [Int], keepDims: Bool = false) -> Tensor {
    reduceAxes(x, axes: axes, keepDims: keepDims, isMean: true)
}

/// Maximum over one axis. The gradient flows to the first maximal element of each reduced run;
/// a NaN counts as the maximum, as in torch.
public func max(_ x: Tensor, axis: Int, keepDims: Bool = false) -> Tensor {
    precondition(x.rank > 0, "max over an axis needs rank ≥ 1, shape is \(x.shape)")
    let a = x.normalizedAxis(axis)
    let outer = x.shape[..<a].reduce(1, *), reduced = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *)
    precondition(reduced > 0, "max over the empty axis \(axis) of shape \(x.shape)")
    var outShape = x.shape
    if keepDims { outShape[a] = 1 } else { outShape.remove(at: a) }
    let out = Tensor(uninitialized: outShape)
    var argmax = [Int32](repeating: 0, count: outer * inner)
    argmax.withUnsafeMutableBufferPointer { indices in
        maxForward(x.data, out.data, argmax: indices.baseAddress!, outer: outer, reduced: reduced, inner: inner)
    }
    guard Autograd.needsGradient(x) else { return out }
    Autograd.record(out) {
        argmax.withUnsafeBufferPointer { indices in
            maxBackward(out.grad!.data, x.gradData(), argmax: indices.baseAddress!,
                        outer: outer, reduced: reduced, inner: inner)
        }
    }
    return out
}

extension Tensor {
    /// Sum of all elements → shape [].
    public func sum() -> Tensor { Tensors.sum(self) }
    /// Mean of all elements → shape [].
    public func mean() -> Tensor { Tensors.mean(self) }
}

// MARK: - Graph wiring

/// x: (...) → y: [], y = scale · Σ x.
func reduceAll(_ x: Tensor, scale: Double) -> Tensor {
    let out = Tensor(uninitialized: [])
    out.data[0] = Float(totalSum(x.data, x.count) * scale)
    guard Autograd.needsGradient(x) else { return out }
    Autograd.record(out) {
        let g = out.grad!.data[0] * Float(scale), dx = x.gradData()
        parallelFor(x.count, grain: 1 << 15) { range in for i in range { dx[i] += g } }
    }
    return out
}

func reduceAxes(_ x: Tensor, axes: [Int], keepDims: Bool, isMean: Bool) -> Tensor {
    precondition(!axes.isEmpty, "reduction over no axes; use sum(x) or mean(x) to reduce every element")
    let resolved = axes.map { x.normalizedAxis($0) }
    let reducedAxes = Set(resolved)
    precondition(reducedAxes.count == resolved.count, "axes \(axes) repeat an axis of shape \(x.shape)")
    var outShape: [Int] = []
    var reducedCount = 1
    for (axis, size) in x.shape.enumerated() {
        if reducedAxes.contains(axis) {
            reducedCount *= size
            if keepDims { outShape.append(1) }
        } else {
            outShape.append(size)
        }
    }
    let scale = isMean ? 1 / Double(reducedCount) : 1
    let groups = ReductionGroups(x.shape, reducing: reducedAxes)
    let out = Tensor(uninitialized: outShape)
    groups.sum(x.data, into: out.data, scale: scale)
    guard Autograd.needsGradient(x) else { return out }
    Autograd.record(out) {
        groups.broadcastBack(out.grad!.data, into: x.gradData(), scale: Float(scale))
    }
    return out
}

/// A shape with size-1 axes dropped and neighbouring axes of the same kind (kept or reduced) merged,
/// e.g. (3, 4, 5) reducing axes 0 and 2 → [3 reduced, 4 kept, 5 reduced]. One reduced group is the
/// (outer, reduced, inner) case; more are reduced one after another, last first.
struct ReductionGroups {
    var sizes: [Int] = []
    var isReduced: [Bool] = []

    init(_ shape: [Int], reducing axes: Set<Int>) {
        for (axis, size) in shape.enumerated() where size != 1 {
            let reducing = axes.contains(axis)
            if let last = isReduced.last, last == reducing {
                sizes[sizes.count - 1] *= size
            } else {
                sizes.append(size)
                isReduced.append(reducing)
            }
        }
    }

    /// (outer, reduced, inner) when at most one group is reduced.
    var singleGroup: (outer: Int, reduced: Int, inner: Int)? {
        let reducedGroups = isReduced.indices.filter { isReduced[$0] }
        guard reducedGroups.count <= 1 else { return nil }
        guard let g = reducedGroups.first else { return (1, 1, sizes.reduce(1, *)) }
        return (sizes[..<g].reduce(1, *), sizes[g], sizes[(g + 1)...].reduce(1, *))
    }

    /// y = scale · Σ x over the reduced groups. x: (merged sizes) → y: (kept groups).
    func sum(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, scale: Double) {
        if let (outer, reduced, inner) = singleGroup {
            sumForward(x, y, outer: outer, reduced: reduced, inner: inner, scale: scale)
            return
        }
        // Several separated groups: reduce the last, then the next one on the smaller intermediate.
        var dims = sizes, reducing = isReduced
        var intermediate: Tensor?  // keeps the current source alive
        while let g = reducing.lastIndex(of: true) {
            let outer = dims[..<g].reduce(1, *), inner = dims[(g + 1)...].reduce(1, *)
            let source = intermediate.map { UnsafePointer($0.data) } ?? x
            let isFirstGroup = !reducing[..<g].contains(true)
            let target = isFirstGroup ? nil : Tensor(uninitialized: [outer * inner])
            sumForward(source, target?.data ?? y, outer: outer, reduced: dims[g], inner: inner,
                       scale: isFirstGroup ? scale : 1)
            dims.remove(at: g)
            reducing.remove(at: g)
            intermediate = target
        }
    }

    /// dx += scale · dy broadcast over the reduced groups. dy: (kept groups) → dx: (merged sizes).
    func broadcastBack(_ dy: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>, scale: Float) {
        if let (outer, reduced, inner) = singleGroup {
            parallelFor(outer * reduced, grain: max(1, (1 << 15) / max(inner, 1))) { rows in
                for row in rows {
                    let source = dy + (row / reduced) * inner, target = dx + row * inner
                    for j in 0..<inner { target[j] += scale * source[j] }
                }
            }
            return
        }
        let keptShape = zip(sizes, isReduced).map { $1 ? 1 : $0 }
        let strides = broadcastStrides(keptShape, to: sizes)
        forEachBroadcastRun(sizes, stridesA: strides, stridesB: strides) { o, source, _, length, stride, _ in
            for i in 0..<length { dx[o + i] += scale * dy[source + i * stride] }
        }
    }
}

// MARK: - Kernels

/// Sum of n contiguous floats: 8 Float lanes within blocks of 1024 elements, blocks added in Double.
@inline(__always)
func blockedSum(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    let raw = UnsafeRawPointer(p)
    var total = 0.0
    var start = 0
    while start < n {
        let end = min(start + 1024, n)
        var lanes = SIMD8<Float>()
        var i = start
        while i + 8 <= end {
            lanes += raw.loadUnaligned(fromByteOffset: i * MemoryLayout<Float>.stride, as: SIMD8<Float>.self)
            i += 8
        }
        var block = lanes.sum()
        while i < end { block += p[i]; i += 1 }
        total += Double(block)
        start = end
    }
    return total
}

/// Σ x over n elements, in fixed chunks of 64K summed concurrently and combined in order.
func totalSum(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
    let chunk = 1 << 16
    let chunks = (n + chunk - 1) / chunk
    guard chunks > 1 else { return blockedSum(x, n) }
    var partials = [Double](repeating: 0, count: chunks)
    partials.withUnsafeMutableBufferPointer { partial in
        let p = partial.baseAddress!
        parallelFor(chunks) { range in
            for c in range { p[c] = blockedSum(x + c * chunk, min(chunk, n - c * chunk)) }
        }
    }
    return partials.reduce(0, +)
}

/// Splits (outer, inner) output work across threads: by outer rows when there are enough of them,
/// otherwise also by column ranges, so a (1, R, C) reduction still uses every thread.
/// `body(o, columns)` handles output row o, columns `columns`.
@inline(__always)
func forEachReductionTile(outer: Int, reduced: Int, inner: Int, _ body: (Int, Range<Int>) -> Void) {
    let columnChunks = outer >= Runtime.threads ? 1 : max(1, min(Runtime.threads, inner / 64))
    let work = max(1, reduced * inner / columnChunks)
    parallelFor(outer * columnChunks, grain: max(1, (1 << 15) / work)) { items in
        for item in items {
            let o = item / columnChunks, c = item % columnChunks
            body(o, (inner * c / columnChunks)..<(inner * (c + 1) / columnChunks))
        }
    }
}

/// x: (outer, reduced, inner) → y: (outer, inner), y = scale · Σ_r x[o, r, :].
func sumForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                outer: Int, reduced: Int, inner: Int, scale: Double) {
    if inner == 1 {
        parallelFor(outer, grain: max(1, (1 << 15) / max(reduced, 1))) { rows in
            for o in rows { y[o] = Float(blockedSum(x + o * reduced, reduced) * scale) }
        }
        return
    }
    // Column blocks of up to 1024: 64 rows at a time are added in Float, then folded into Double.
    let block = 1024, rowBlock = 64
    forEachReductionTile(outer: outer, reduced: reduced, inner: inner) { o, columns in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { partialBuffer in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: block) { totalBuffer in
                let partial = partialBuffer.baseAddress!, total = totalBuffer.baseAddress!
                var j0 = columns.lowerBound
                while j0 < columns.upperBound {
                    let width = min(block, columns.upperBound - j0)
                    total.update(repeating: 0, count: width)
                    var r0 = 0
                    while r0 < reduced {
                        let r1 = min(r0 + rowBlock, reduced)
                        partial.update(repeating: 0, count: width)
                        for r in r0..<r1 {
                            let row = x + (o * reduced + r) * inner + j0
                            for j in 0..<width { partial[j] += row[j] }
                        }
                        for j in 0..<width { total[j] += Double(partial[j]) }
                        r0 = r1
                    }
                    let target = y + o * inner + j0
                    for j in 0..<width { target[j] = Float(total[j] * scale) }
                    j0 += width
                }
            }
        }
    }
}

/// Index of the first maximum of n ≥ 1 contiguous floats; a NaN counts as the maximum.
/// A vector pass finds the maximum and whether any NaN occurs; a NaN-free row then scans for the first
/// element equal to the maximum, a row with a NaN takes the exact scalar scan.
@inline(__always)
func firstMaximum(_ p: UnsafePointer<Float>, _ n: Int) -> Int {
    let raw = UnsafeRawPointer(p)
    var lanes = SIMD8<Float>(repeating: -.infinity)
    var sawNaN = SIMDMask<SIMD8<Int32>>(repeating: false)
    var i = 0
    while i + 8 <= n {
        let v = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<Float>.stride, as: SIMD8<Float>.self)
        lanes.replace(with: v, where: v .> lanes)  // pointwiseMax is not lowered to vector max
        sawNaN .|= v .!= v
        i += 8
    }
    var best = lanes.max(), hasNaN = any(sawNaN)
    while i < n {
        best = Swift.max(best, p[i])
        hasNaN = hasNaN || p[i].isNaN
        i += 1
    }
    if !hasNaN {
        for r in 0..<n where p[r] == best { return r }
    }
    var index = 0
    for r in 1..<n where p[r] > p[index] || (p[r].isNaN && !p[index].isNaN) { index = r }
    return index
}

/// x: (outer, reduced, inner) → y: (outer, inner) maxima; argmax: (outer, inner), the first r of each maximum.
func maxForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>,
                outer: Int, reduced: Int, inner: Int) {
    if inner == 1 {
        parallelFor(outer, grain: max(1, (1 << 15) / reduced)) { rows in
            for o in rows {
                let index = firstMaximum(x + o * reduced, reduced)
                y[o] = x[o * reduced + index]
                argmax[o] = Int32(index)
            }
        }
        return
    }
    forEachReductionTile(outer: outer, reduced: reduced, inner: inner) { o, columns in
        let best = y + o * inner, index = argmax + o * inner
        let first = x + o * reduced * inner
        for j in columns { best[j] = first[j]; index[j] = 0 }
        for r in 1..<reduced {
            let row = first + r * inner, rank = Int32(r)
            for j in columns {
                let v = row[j], b = best[j]
                let takes = v > b || (v.isNaN && !b.isNaN)
                best[j] = takes ? v : b
                index[j] = takes ? rank : index[j]
            }
        }
    }
}

/// dy: (outer, inner) → dx: (outer, reduced, inner), dx[o, argmax[o, j], j] += dy[o, j].
func maxBackward(_ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, argmax: UnsafePointer<Int32>,
                 outer: Int, reduced: Int, inner: Int) {
    parallelFor(outer, grain: max(1, (1 << 15) / max(inner, 1))) { rows in
        for o in rows {
            for j in 0..<inner {
                dx[(o * reduced + Int(argmax[o * inner + j])) * inner + j] += dy[o * inner + j]
            }
        }
    }
}
