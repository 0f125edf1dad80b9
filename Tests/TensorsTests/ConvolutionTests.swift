import Tensors
import TestSupport
import XCTest

/// conv1d and conv2d (im2col + GEMM) against PyTorch, finite differences, and a direct-loop reference.
/// Torch tolerances: 1e-5 absolute + 1e-4 relative, forward and gradients (fp32 GEMM reorders the sums).
final class ConvolutionTests: XCTestCase {
    func testConv1dCasesMatchTorch() throws {
        for name in ["conv1d", "conv1d_stride2_pad2", "conv1d_groups"] {
            try checkAgainstTorch(name, atol: 1e-5, rtol: 1e-4, gradAtol: 1e-5, gradRtol: 1e-4) { fixture, inputs in
                conv1d(inputs["x"]!, weight: inputs["weight"]!, bias: inputs["bias"], stride: fixture.int("stride")!,
                       padding: fixture.int("padding")!, groups: fixture.int("groups")!)
            }
        }
    }

    func testConv2dCasesMatchTorch() throws {
        for name in ["conv2d_patch", "conv2d_stride1", "conv2d_stride_2x1"] {
            try checkAgainstTorch(name, atol: 1e-5, rtol: 1e-4, gradAtol: 1e-5, gradRtol: 1e-4) { fixture, inputs in
                let stride = fixture.ints("stride"), padding = fixture.ints("padding")
                return conv2d(inputs["x"]!, weight: inputs["weight"]!, bias: inputs["bias"],
                              stride: (stride[0], stride[1]), padding: (padding[0], padding[1]))
            }
        }
    }

    /// The depthwise convolution over (B, T, C) equals conv1d with one group per channel over (B, C, T), forward and
    /// every gradient (conv1d is checked against torch above), with and without a bias.
    func testDepthwiseConv1dMatchesGroupedConv1d() {
        var generator = RandomGenerator(seed: 5)
        for (kernel, withBias) in [(3, true), (5, false), (1, true)] {
            let (batch, length, channels) = (3, 7, 6)
            let x = Tensor.normal([batch, length, channels], generator: &generator, requiresGrad: true)
            let weight = Tensor.normal([channels, kernel], generator: &generator, requiresGrad: true)
            let bias = withBias ? Tensor.normal([channels], generator: &generator, requiresGrad: true) : nil
            let probe = Tensor.normal([batch, length, channels], generator: &generator)
            let y = depthwiseConv1d(x, weight: weight, bias: bias, padding: kernel / 2)
            sum(y * probe).backward()
            let (dx, dw, db) = (x.grad!.scalars, weight.grad!.scalars, bias?.grad?.scalars)
            for tensor in [x, weight] + (bias.map { [$0] } ?? []) { tensor.zeroGrad() }
            let reference = conv1d(x.permuted([0, 2, 1]), weight: weight.reshaped([channels, 1, kernel]), bias: bias,
                                   padding: kernel / 2, groups: channels).permuted([0, 2, 1])
            sum(reference * probe).backward()
            assertClose(y.scalars, reference.scalars, atol: 1e-5, rtol: 1e-5, "forward, kernel \(kernel)")
            assertClose(dx, x.grad!.scalars, atol: 1e-5, rtol: 1e-5, "dx, kernel \(kernel)")
            assertClose(dw, weight.grad!.scalars, atol: 1e-5, rtol: 1e-5, "dw, kernel \(kernel)")
            if let db { assertClose(db, bias!.grad!.scalars, atol: 1e-5, rtol: 1e-5, "db, kernel \(kernel)") }
        }
    }

    func testStridedPaddedConv1dGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 3)
        let x = Tensor.normal([2, 3, 9], generator: &generator)
        let weight = Tensor.normal([4, 3, 4], generator: &generator)
        let bias = Tensor.normal([4], generator: &generator)
        let error = maxGradientError(inputs: [x, weight, bias]) {
            conv1d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 2)
        }
        XCTAssertLessThan(error, 1e-2)
    }

    func testGroupedPaddedConv1dGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 4)
        let x = Tensor.normal([2, 4, 7], generator: &generator)
        let weight = Tensor.normal([6, 2, 4], generator: &generator)
        let bias = Tensor.normal([6], generator: &generator)
        let error = maxGradientError(inputs: [x, weight, bias]) {
            conv1d($0[0], weight: $0[1], bias: $0[2], padding: 2, groups: 2)
        }
        XCTAssertLessThan(error, 1e-2)
    }

    func testStridedPaddedConv2dGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 5)
        let x = Tensor.normal([2, 2, 5, 6], generator: &generator)
        let weight = Tensor.normal([3, 2, 3, 2], generator: &generator)
        let bias = Tensor.normal([3], generator: &generator)
        let error = maxGradientError(inputs: [x, weight, bias]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 1), padding: (1, 2))
        }
        XCTAssertLessThan(error, 1e-2)
    }

    func testWav2vec2FirstLayerGivesSeventyNineFramesFromFourHundredSamples() {
        var generator = RandomGenerator(seed: 6)
        let waveform = Tensor.normal([2, 1, 400], generator: &generator)
        let weight = Tensor.normal([8, 1, 10], generator: &generator)
        XCTAssertEqual(conv1d(waveform, weight: weight, stride: 5).shape, [2, 8, 79])
    }

    /// A wav2vec 2.0 positional conv in miniature: groups, padding K/2 (even K, so one extra frame), many planes.
    func testGroupedPaddedConv1dMatchesDirectConvolution() {
        var generator = RandomGenerator(seed: 7)
        let x = Tensor.normal([3, 32, 61], generator: &generator)
        let weight = Tensor.normal([32, 2, 16], std: 0.2, generator: &generator)
        let bias = Tensor.normal([32], generator: &generator)
        checkAgainstDirect(x, weight, bias, stride: (1, 1), padding: (0, 8), groups: 16) { x, weight, bias in
            conv1d(x, weight: weight, bias: bias, padding: 8, groups: 16)
        }
    }

    /// Padding wider than the kernel: the first and last outputs see only zeros.
    func testStridedWidelyPaddedConv1dMatchesDirectConvolution() {
        var generator = RandomGenerator(seed: 8)
        let x = Tensor.normal([2, 16, 203], generator: &generator)
        let weight = Tensor.normal([24, 16, 3], std: 0.2, generator: &generator)
        checkAgainstDirect(x, weight, nil, stride: (1, 2), padding: (0, 4), groups: 1) { x, weight, _ in
            conv1d(x, weight: weight, stride: 2, padding: 4)
        }
    }

    func testPaddedConv2dMatchesDirectConvolution() {
        var generator = RandomGenerator(seed: 9)
        let x = Tensor.normal([2, 3, 17, 23], generator: &generator)
        let weight = Tensor.normal([8, 3, 4, 5], std: 0.2, generator: &generator)
        let bias = Tensor.normal([8], generator: &generator)
        // Padding 4 over a 4-tall kernel: the first output row sees only zeros.
        checkAgainstDirect(x, weight, bias, stride: (2, 3), padding: (4, 1), groups: 1) { x, weight, bias in
            conv2d(x, weight: weight, bias: bias, stride: (2, 3), padding: (4, 1))
        }
    }

    func testBatchLoweredInChunksMatchesDirectConvolution() {
        var generator = RandomGenerator(seed: 10)
        let x = Tensor.normal([5, 4, 30], generator: &generator)
        let weight = Tensor.normal([6, 2, 5], std: 0.3, generator: &generator)
        let bias = Tensor.normal([6], generator: &generator)
        let saved = Convolution.columnBudget
        defer { Convolution.columnBudget = saved }
        // Columns per item: 4 channels · 5 taps · 28 positions = 560 floats; 1200 lowers two items at a time.
        Convolution.columnBudget = 1200
        checkAgainstDirect(x, weight, bias, stride: (1, 1), padding: (0, 1), groups: 2) { x, weight, bias in
            conv1d(x, weight: weight, bias: bias, padding: 1, groups: 2)
        }
    }

    /// Runs `op` forward and backward (seeded with a random dy) and compares output and every gradient with
    /// `directConvolution`. Tolerance 1e-4 absolute + 1e-4 relative: sums of up to a few hundred products.
    private func checkAgainstDirect(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, stride: (Int, Int),
                                    padding: (Int, Int), groups: Int,
                                    file: StaticString = #filePath, line: UInt = #line,
                                    _ op: (Tensor, Tensor, Tensor?) -> Tensor) {
        for input in [x, weight] + (bias.map { [$0] } ?? []) { input.requiresGrad = true; input.zeroGrad() }
        let out = op(x, weight, bias)
        var generator = RandomGenerator(seed: 11)
        let dy = Tensor.normal(out.shape, generator: &generator)
        let expected = directConvolution(x, weight, bias, stride: stride, padding: padding, groups: groups, dy: dy)
        assertClose(out, expected.y, atol: 1e-4, rtol: 1e-4, "forward", file: file, line: line)
        Autograd.backward(out, seed: dy)
        assertClose(x.grad!, expected.dx, atol: 1e-4, rtol: 1e-4, "grad of x", file: file, line: line)
        assertClose(weight.grad!, expected.dw, atol: 1e-4, rtol: 1e-4, "grad of weight", file: file, line: line)
        if let bias { assertClose(bias.grad!, expected.db, atol: 1e-4, rtol: 1e-4, "grad of bias", file: file, line: line) }
    }
}

/// Convolution by its definition, in Double, the slow reference: y, and dx, dw, db for the upstream gradient dy.
/// x: (B, Cin, L) or (B, Cin, H, W); a 1-D case is read as H = 1 with stride.0 = 1 and padding.0 = 0.
private func directConvolution(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, stride: (Int, Int),
                               padding: (Int, Int), groups: Int, dy: Tensor)
    -> (y: Tensor, dx: Tensor, dw: Tensor, db: Tensor) {
    let is1D = x.rank == 3
    let batch = x.size(0), inChannels = x.size(1)
    let height = is1D ? 1 : x.size(2), width = x.size(-1)
    let outChannels = weight.size(0), groupIn = weight.size(1)
    let kernelHeight = is1D ? 1 : weight.size(2), kernelWidth = weight.size(-1)
    let outHeight = (height + 2 * padding.0 - kernelHeight) / stride.0 + 1
    let outWidth = (width + 2 * padding.1 - kernelWidth) / stride.1 + 1
    let groupOut = outChannels / groups
    var y = [Double](repeating: 0, count: batch * outChannels * outHeight * outWidth)
    var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: weight.count)
    var db = [Double](repeating: 0, count: outChannels)
    for b in 0..<batch {
        for o in 0..<outChannels {
            let group = o / groupOut
            for oh in 0..<outHeight {
                for ow in 0..<outWidth {
                    let yIndex = ((b * outChannels + o) * outHeight + oh) * outWidth + ow
                    let g = Double(dy.data[yIndex])
                    var total = Double(bias?.data[o] ?? 0)
                    db[o] += g
                    for c in 0..<groupIn {
                        let channel = group * groupIn + c
                        for kh in 0..<kernelHeight {
                            let ih = oh * stride.0 - padding.0 + kh
                            guard ih >= 0 && ih < height else { continue }
                            for kw in 0..<kernelWidth {
                                let iw = ow * stride.1 - padding.1 + kw
                                guard iw >= 0 && iw < width else { continue }
                                let xIndex = ((b * inChannels + channel) * height + ih) * width + iw
                                let wIndex = ((o * groupIn + c) * kernelHeight + kh) * kernelWidth + kw
                                total += Double(x.data[xIndex]) * Double(weight.data[wIndex])
                                dx[xIndex] += g * Double(weight.data[wIndex])
                                dw[wIndex] += g * Double(x.data[xIndex])
                            }
                        }
                    }
                    y[yIndex] = total
                }
            }
        }
    }
    let outShape = is1D ? [batch, outChannels, outWidth] : [batch, outChannels, outHeight, outWidth]
    return (Tensor(y.map(Float.init), shape: outShape), Tensor(dx.map(Float.init), shape: x.shape),
            Tensor(dw.map(Float.init), shape: weight.shape), Tensor(db.map(Float.init), shape: [outChannels]))
}
