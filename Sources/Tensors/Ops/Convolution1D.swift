/// 1-D convolution (cross-correlation, as torch.nn.functional.conv1d) with zero padding and groups.
///
/// x: (B, Cin, L) · weight: (Cout, Cin/groups, K) + bias: (Cout) → (B, Cout, Lout),
/// Lout = (L + 2·padding − K) / stride + 1. The wav2vec 2.0 feature encoder is a stack of these over raw
/// waveforms (first layer K 10, stride 5); its positional embedding is one with groups 16 and padding K/2.
public func conv1d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                   groups: Int = 1) -> Tensor {
    precondition(x.rank == 3, "conv1d: input must be (B, Cin, L), got \(x.shape)")
    precondition(weight.rank == 3, "conv1d: weight must be (Cout, Cin/groups, K), got \(weight.shape)")
    precondition(stride >= 1 && padding >= 0 && groups >= 1,
                 "conv1d: needs stride ≥ 1, padding ≥ 0, groups ≥ 1, got \(stride), \(padding), \(groups)")
    let inChannels = x.size(1), length = x.size(2)
    let outChannels = weight.size(0), kernel = weight.size(2)
    precondition(inChannels % groups == 0, "conv1d: input channels \(inChannels) not divisible by groups \(groups)")
    precondition(outChannels % groups == 0, "conv1d: output channels \(outChannels) not divisible by groups \(groups)")
    precondition(weight.size(1) == inChannels / groups,
                 "conv1d: weight \(weight.shape) does not fit input \(x.shape) with groups \(groups) (needs \(inChannels / groups) channels per group)")
    precondition(kernel >= 1 && length + 2 * padding >= kernel,
                 "conv1d: kernel \(kernel) longer than input \(x.shape) padded by \(padding)")
    if let bias {
        precondition(bias.shape == [outChannels], "conv1d: bias \(bias.shape) does not match weight \(weight.shape)")
    }
    let geometry = Convolution1DGeometry(length: length, kernel: kernel, stride: stride, padding: padding,
                                         outLength: (length + 2 * padding - kernel) / stride + 1)
    return convolution(x, weight: weight, bias: bias, groups: groups, geometry: geometry,
                       outputShape: [x.size(0), outChannels, geometry.outLength])
}

/// One channel line (L) ↔ its columns (K, Lout): row k holds line[o·stride − padding + k] for each output o.
struct Convolution1DGeometry: ConvolutionGeometry {
    let length: Int
    let kernel: Int
    let stride: Int
    let padding: Int
    let outLength: Int

    var inputPlane: Int { length }
    var outputPlane: Int { outLength }
    var kernelVolume: Int { kernel }

    func unfold(_ plane: UnsafePointer<Float>, into columns: UnsafeMutablePointer<Float>) {
        for tap in 0..<kernel {
            unfoldLine(plane, length: length, tap: tap, stride: stride, padding: padding,
                       into: columns + tap * outLength, outputs: outLength)
        }
    }

    func fold(_ columns: UnsafePointer<Float>, into plane: UnsafeMutablePointer<Float>) {
        for tap in 0..<kernel {
            foldLine(columns + tap * outLength, into: plane, length: length, tap: tap, stride: stride,
                     padding: padding, outputs: outLength)
        }
    }
}
