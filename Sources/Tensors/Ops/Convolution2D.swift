/// 2-D convolution (cross-correlation, as torch.nn.functional.conv2d) with zero padding.
///
/// x: (B, Cin, H, W) · weight: (Cout, Cin, KH, KW) + bias: (Cout) → (B, Cout, Hout, Wout),
/// Hout = (H + 2·padding.0 − KH) / stride.0 + 1, likewise Wout. SSAST and BEATs embed spectrogram patches
/// with one of these, stride = kernel.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                   padding: (Int, Int) = (0, 0)) -> Tensor {
    precondition(x.rank == 4, "conv2d: input must be (B, Cin, H, W), got \(x.shape)")
    precondition(weight.rank == 4, "conv2d: weight must be (Cout, Cin, KH, KW), got \(weight.shape)")
    precondition(stride.0 >= 1 && stride.1 >= 1 && padding.0 >= 0 && padding.1 >= 0,
                 "conv2d: needs stride ≥ 1 and padding ≥ 0, got stride \(stride), padding \(padding)")
    let height = x.size(2), width = x.size(3)
    let outChannels = weight.size(0), kernelHeight = weight.size(2), kernelWidth = weight.size(3)
    precondition(weight.size(1) == x.size(1), "conv2d: weight \(weight.shape) does not fit input \(x.shape)")
    precondition(kernelHeight >= 1 && kernelWidth >= 1 && height + 2 * padding.0 >= kernelHeight
                 && width + 2 * padding.1 >= kernelWidth,
                 "conv2d: kernel \(kernelHeight)×\(kernelWidth) larger than input \(x.shape) padded by \(padding)")
    if let bias {
        precondition(bias.shape == [outChannels], "conv2d: bias \(bias.shape) does not match weight \(weight.shape)")
    }
    let geometry = Convolution2DGeometry(
        height: height, width: width, kernelHeight: kernelHeight, kernelWidth: kernelWidth,
        stride: stride, padding: padding,
        outHeight: (height + 2 * padding.0 - kernelHeight) / stride.0 + 1,
        outWidth: (width + 2 * padding.1 - kernelWidth) / stride.1 + 1)
    return convolution(x, weight: weight, bias: bias, groups: 1, geometry: geometry,
                       outputShape: [x.size(0), outChannels, geometry.outHeight, geometry.outWidth])
}

/// One channel plane (H, W) ↔ its columns (KH·KW, Hout·Wout): row (kh, kw) holds
/// plane[oh·stride.0 − padding.0 + kh, ow·stride.1 − padding.1 + kw] for each output (oh, ow).
struct Convolution2DGeometry: ConvolutionGeometry {
    let height: Int
    let width: Int
    let kernelHeight: Int
    let kernelWidth: Int
    let stride: (Int, Int)
    let padding: (Int, Int)
    let outHeight: Int
    let outWidth: Int

    var inputPlane: Int { height * width }
    var outputPlane: Int { outHeight * outWidth }
    var kernelVolume: Int { kernelHeight * kernelWidth }

    func unfold(_ plane: UnsafePointer<Float>, into columns: UnsafeMutablePointer<Float>) {
        for kh in 0..<kernelHeight {
            let rows = validOutputs(length: height, tap: kh, stride: stride.0, padding: padding.0, outputs: outHeight)
            for kw in 0..<kernelWidth {
                let tapColumns = columns + (kh * kernelWidth + kw) * outputPlane
                tapColumns.update(repeating: 0, count: rows.lowerBound * outWidth)
                let below = tapColumns + rows.upperBound * outWidth
                below.update(repeating: 0, count: (outHeight - rows.upperBound) * outWidth)
                for oh in rows {
                    let line = plane + (oh * stride.0 - padding.0 + kh) * width
                    unfoldLine(line, length: width, tap: kw, stride: stride.1, padding: padding.1,
                               into: tapColumns + oh * outWidth, outputs: outWidth)
                }
            }
        }
    }

    func fold(_ columns: UnsafePointer<Float>, into plane: UnsafeMutablePointer<Float>) {
        for kh in 0..<kernelHeight {
            let rows = validOutputs(length: height, tap: kh, stride: stride.0, padding: padding.0, outputs: outHeight)
            for kw in 0..<kernelWidth {
                let tapColumns = columns + (kh * kernelWidth + kw) * outputPlane
                for oh in rows {
                    let line = plane + (oh * stride.0 - padding.0 + kh) * width
                    foldLine(tapColumns + oh * outWidth, into: line, length: width, tap: kw, stride: stride.1,
                             padding: padding.1, outputs: outWidth)
                }
            }
        }
    }
}
