/// Convolution lowered to GEMMs (im2col), shared by `conv1d` and `conv2d`.
///
/// Per batch item and group g, the group's Cg = Cin/groups input channels are unfolded into columns
/// cols_g: (Cg·KV, P), row (c, tap) holding channel c under kernel tap `tap` at every output position, so that
///     y_g (Og, P) = W_g (Og, Cg·KV) · cols_g (Cg·KV, P) + b_g
/// with Og = Cout/groups, KV the kernel volume (K, or KH·KW) and P the output positions (Lout, or Hout·Wout).
/// Backward: dW_g += dY_g · cols_gᵀ; dcols_g = W_gᵀ · dY_g, folded (col2im, a scatter-add) into dx; db += Σ dY.
/// The columns are recomputed in backward rather than kept: they are KV times the size of the input.
public enum Convolution {
    /// Most floats of column scratch one call holds (128 MiB). Batches whose columns exceed it are lowered a
    /// few items at a time; a single item always fits, however large.
    nonisolated(unsafe) public static var columnBudget = 1 << 25
}

/// How one input channel plane maps to its kernel-volume rows of columns. Implemented per dimensionality.
protocol ConvolutionGeometry {
    /// Floats in one input channel plane: L, or H·W.
    var inputPlane: Int { get }
    /// Output positions per channel: Lout, or Hout·Wout.
    var outputPlane: Int { get }
    /// Kernel taps per channel: K, or KH·KW.
    var kernelVolume: Int { get }
    /// plane: (inputPlane) → columns: (kernelVolume, outputPlane), zero where a tap falls in the padding.
    func unfold(_ plane: UnsafePointer<Float>, into columns: UnsafeMutablePointer<Float>)
    /// columns: (kernelVolume, outputPlane) scatter-added into plane: (inputPlane); padding taps are dropped.
    func fold(_ columns: UnsafePointer<Float>, into plane: UnsafeMutablePointer<Float>)
}

/// x: (B, Cin, ...) · weight: (Cout, Cin/groups, ...) + bias: (Cout) → (B, Cout, ...outputShape tail).
/// Shapes are validated by the public callers.
func convolution<G: ConvolutionGeometry>(_ x: Tensor, weight: Tensor, bias: Tensor?, groups: Int,
                                         geometry: G, outputShape: [Int]) -> Tensor {
    let batch = x.size(0), inChannels = x.size(1), outChannels = weight.size(0)
    let positions = geometry.outputPlane
    let out = Tensor(uninitialized: outputShape)
    if let bias {
        let y = out.data, b = bias.data
        parallelFor(batch * outChannels, grain: max(1, (1 << 15) / max(positions, 1))) { rows in
            for row in rows { (y + row * positions).update(repeating: b[row % outChannels], count: positions) }
        }
    }
    let lowering = ConvolutionLowering(geometry: geometry, batch: batch, inChannels: inChannels,
                                       outChannels: outChannels, groups: groups)
    let columns = Tensor(uninitialized: [lowering.itemsPerChunk * lowering.itemColumns])
    for first in stride(from: 0, to: batch, by: lowering.itemsPerChunk) {
        let items = first..<min(first + lowering.itemsPerChunk, batch)
        lowering.unfold(x.data, items: items, into: columns.data)
        lowering.multiplyWeights(weight.data, columns: columns.data, items: items, accumulate: bias != nil,
                                 into: out.data)
    }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    guard Autograd.needsGradient(inputs) else { return out }
    Autograd.record(out) {
        convolutionBackward(x, weight: weight, bias: bias, out: out, lowering: lowering)
    }
    return out
}

/// dy: (B, Cout, P) → dx: (B, Cin, ...), accumulates dweight: (Cout, Cin/groups, ...) and dbias: (Cout).
func convolutionBackward<G: ConvolutionGeometry>(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor,
                                                 lowering: ConvolutionLowering<G>) {
    let dY = out.grad!.data
    let batch = lowering.batch, outChannels = lowering.outChannels, positions = lowering.geometry.outputPlane
    if let bias, bias.requiresGrad {
        let dB = bias.gradData()
        parallelFor(outChannels, grain: max(1, (1 << 15) / max(batch * positions, 1))) { channels in
            for channel in channels {
                var total: Float = 0
                for item in 0..<batch {
                    let row = dY + (item * outChannels + channel) * positions
                    for p in 0..<positions { total += row[p] }
                }
                dB[channel] += total
            }
        }
    }
    guard x.requiresGrad || weight.requiresGrad else { return }
    let columns = Tensor(uninitialized: [lowering.itemsPerChunk * lowering.itemColumns])
    for first in stride(from: 0, to: batch, by: lowering.itemsPerChunk) {
        let items = first..<min(first + lowering.itemsPerChunk, batch)
        if weight.requiresGrad {
            lowering.unfold(x.data, items: items, into: columns.data)
            lowering.accumulateWeightGradient(dY, columns: columns.data, items: items, into: weight.gradData())
        }
        if x.requiresGrad {
            lowering.columnGradient(dY, weight: weight.data, items: items, into: columns.data)
            lowering.fold(columns.data, items: items, into: x.gradData())
        }
    }
}

/// The GEMM plan of one convolution call. Column scratch for a chunk of items is laid out
/// (item, Cin, KV, P), so group g of an item starts g·Cg·KV·P floats into the item's columns.
struct ConvolutionLowering<G: ConvolutionGeometry> {
    let geometry: G
    let batch: Int
    let inChannels: Int
    let outChannels: Int
    let groups: Int

    var groupInChannels: Int { inChannels / groups }
    var groupOutChannels: Int { outChannels / groups }
    /// Columns of one group: rows (Cg·KV), each P long; also the row length of W_g.
    var groupRows: Int { groupInChannels * geometry.kernelVolume }
    var groupColumns: Int { groupRows * geometry.outputPlane }
    var itemColumns: Int { inChannels * geometry.kernelVolume * geometry.outputPlane }
    var itemsPerChunk: Int { max(1, min(batch, Convolution.columnBudget / max(itemColumns, 1))) }
    /// Channel planes per parallel task, so that each task moves about 32K floats.
    var planeGrain: Int { max(1, (1 << 15) / max(geometry.kernelVolume * geometry.outputPlane, 1)) }

    /// x: (B, Cin, inputPlane), items of it → columns: (items, Cin, KV, P).
    func unfold(_ x: UnsafePointer<Float>, items: Range<Int>, into columns: UnsafeMutablePointer<Float>) {
        let planeColumns = geometry.kernelVolume * geometry.outputPlane, inputPlane = geometry.inputPlane
        let source = x + items.lowerBound * inChannels * inputPlane
        parallelFor(items.count * inChannels, grain: planeGrain) { planes in
            for plane in planes {
                geometry.unfold(source + plane * inputPlane, into: columns + plane * planeColumns)
            }
        }
    }

    /// columns: (items, Cin, KV, P) scatter-added into dx: (B, Cin, inputPlane). Each task owns whole planes.
    func fold(_ columns: UnsafePointer<Float>, items: Range<Int>, into dx: UnsafeMutablePointer<Float>) {
        let planeColumns = geometry.kernelVolume * geometry.outputPlane, inputPlane = geometry.inputPlane
        let target = dx + items.lowerBound * inChannels * inputPlane
        parallelFor(items.count * inChannels, grain: planeGrain) { planes in
            for plane in planes {
                geometry.fold(columns + plane * planeColumns, into: target + plane * inputPlane)
            }
        }
    }

    /// y_g (Og, P) (+)= W_g (Og, Cg·KV) · cols_g (Cg·KV, P) for every item and group; y: (B, Cout, P).
    func multiplyWeights(_ weight: UnsafePointer<Float>, columns: UnsafePointer<Float>, items: Range<Int>,
                         accumulate: Bool, into y: UnsafeMutablePointer<Float>) {
        let positions = geometry.outputPlane, groupOut = groupOutChannels, rows = groupRows
        for group in 0..<groups {
            Matmul.backend.batchedGemm(
                transA: false, transB: false, batch: items.count, m: groupOut, n: positions, k: rows, alpha: 1,
                a: weight + group * groupOut * rows, lda: rows, strideA: 0,
                b: columns + group * groupColumns, ldb: positions, strideB: itemColumns,
                beta: accumulate ? 1 : 0, c: y + (items.lowerBound * outChannels + group * groupOut) * positions,
                ldc: positions, strideC: outChannels * positions)
        }
    }

    /// dW_g (Og, Cg·KV) += dY_g (Og, P) · cols_gᵀ (P, Cg·KV), summed over the items.
    func accumulateWeightGradient(_ dY: UnsafePointer<Float>, columns: UnsafePointer<Float>, items: Range<Int>,
                                  into dW: UnsafeMutablePointer<Float>) {
        let positions = geometry.outputPlane, groupOut = groupOutChannels, rows = groupRows
        for (slot, item) in items.enumerated() {
            for group in 0..<groups {
                Matmul.backend.gemm(
                    transA: false, transB: true, m: groupOut, n: rows, k: positions, alpha: 1,
                    a: dY + (item * outChannels + group * groupOut) * positions, lda: positions,
                    b: columns + slot * itemColumns + group * groupColumns, ldb: positions,
                    beta: 1, c: dW + group * groupOut * rows, ldc: rows)
            }
        }
    }

    /// dcols_g (Cg·KV, P) = W_gᵀ (Cg·KV, Og) · dY_g (Og, P) for every item and group, overwriting columns.
    func columnGradient(_ dY: UnsafePointer<Float>, weight: UnsafePointer<Float>, items: Range<Int>,
                        into columns: UnsafeMutablePointer<Float>) {
        let positions = geometry.outputPlane, groupOut = groupOutChannels, rows = groupRows
        for group in 0..<groups {
            Matmul.backend.batchedGemm(
                transA: true, transB: false, batch: items.count, m: rows, n: positions, k: groupOut, alpha: 1,
                a: weight + group * groupOut * rows, lda: rows, strideA: 0,
                b: dY + (items.lowerBound * outChannels + group * groupOut) * positions, ldb: positions,
                strideB: outChannels * positions,
                beta: 0, c: columns + group * groupColumns, ldc: positions, strideC: itemColumns)
        }
    }
}

/// Output positions o whose input index o·stride − padding + tap falls inside 0..<length.
@inline(__always)
func validOutputs(length: Int, tap: Int, stride: Int, padding: Int, outputs: Int) -> Range<Int> {
    let shift = padding - tap
    let lower = min(shift <= 0 ? 0 : (shift + stride - 1) / stride, outputs)   // o·s ≥ p − tap
    let last = length - 1 + shift                                               // o·s ≤ length − 1 + p − tap
    let upper = last < 0 ? 0 : min(last / stride + 1, outputs)
    return lower..<max(lower, upper)
}

/// row[o] = line[o·stride − padding + tap] for o in 0..<outputs, zero where that index is padding.
@inline(__always)
func unfoldLine(_ line: UnsafePointer<Float>, length: Int, tap: Int, stride: Int, padding: Int,
                into row: UnsafeMutablePointer<Float>, outputs: Int) {
    let valid = validOutputs(length: length, tap: tap, stride: stride, padding: padding, outputs: outputs)
    row.update(repeating: 0, count: valid.lowerBound)
    (row + valid.upperBound).update(repeating: 0, count: outputs - valid.upperBound)
    guard !valid.isEmpty else { return }
    let source = line + (valid.lowerBound * stride - padding + tap)
    if stride == 1 {
        (row + valid.lowerBound).update(from: source, count: valid.count)
    } else {
        let target = row + valid.lowerBound
        for j in 0..<valid.count { target[j] = source[j * stride] }
    }
}

/// line[o·stride − padding + tap] += row[o] for the o whose index is inside the line.
@inline(__always)
func foldLine(_ row: UnsafePointer<Float>, into line: UnsafeMutablePointer<Float>, length: Int, tap: Int,
              stride: Int, padding: Int, outputs: Int) {
    let valid = validOutputs(length: length, tap: tap, stride: stride, padding: padding, outputs: outputs)
    guard !valid.isEmpty else { return }
    let target = line + (valid.lowerBound * stride - padding + tap)
    let source = row + valid.lowerBound
    for j in 0..<valid.count { target[j * stride] += source[j] }
}
