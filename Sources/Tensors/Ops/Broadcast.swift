/// Numpy broadcasting: shapes align at the trailing axis; a size-1 axis stretches.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let rank = max(a.count, b.count)
    var result = [Int](repeating: 1, count: rank)
    for axis in 0..<rank {
        let sizeA = axis < rank - a.count ? 1 : a[axis - (rank - a.count)]
        let sizeB = axis < rank - b.count ? 1 : b[axis - (rank - b.count)]
        precondition(sizeA == sizeB || sizeA == 1 || sizeB == 1, "shapes \(a) and \(b) do not broadcast")
        result[axis] = sizeA == 1 ? sizeB : sizeA
    }
    return result
}

/// Element strides of `shape` read as `target` (0 on stretched axes).
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    var strides = [Int](repeating: 0, count: target.count)
    var step = 1
    for axis in (0..<shape.count).reversed() {
        let targetAxis = axis + target.count - shape.count
        strides[targetAxis] = shape[axis] == 1 ? 0 : step
        step *= shape[axis]
    }
    return strides
}

/// Calls `body(outIndex, indexA, indexB)` for every element of `shape`, row by row of the last axis.
/// The inner loop is a run of `shape.last` elements with constant strides, handed over in one call.
@inline(__always)
func forEachBroadcastRun(_ shape: [Int], stridesA: [Int], stridesB: [Int],
                         _ run: (_ out: Int, _ a: Int, _ b: Int, _ length: Int, _ strideA: Int, _ strideB: Int) -> Void) {
    let rank = shape.count
    guard rank > 0 else { run(0, 0, 0, 1, 0, 0); return }
    let inner = shape[rank - 1]
    let rows = shape.dropLast().reduce(1, *)
    var index = [Int](repeating: 0, count: rank)
    var offsetA = 0, offsetB = 0
    for row in 0..<rows {
        run(row * inner, offsetA, offsetB, inner, stridesA[rank - 1], stridesB[rank - 1])
        // Odometer over the outer axes.
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            offsetA += stridesA[axis]
            offsetB += stridesB[axis]
            if index[axis] < shape[axis] { break }
            offsetA -= stridesA[axis] * shape[axis]
            offsetB -= stridesB[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}
