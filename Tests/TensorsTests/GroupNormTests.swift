import Tensors
import XCTest

/// groupNorm against torch.nn.functional.group_norm (scripts/make_wav2vec2_fixtures.py): one group per channel
/// (wav2vec 2.0's first feature-encoder layer) and two channels per group. Rows are normalised in float32 as
/// layer norm does, so forward and gradients agree to 1e-5 absolute + 1e-4 relative.
final class GroupNormTests: XCTestCase {
    func testGroupNormMatchesTorch() throws {
        for name in ["group_norm_channels", "group_norm_grouped"] {
            try checkAgainstTorch(name, atol: 1e-5, rtol: 1e-4, gradAtol: 1e-5, gradRtol: 1e-4) { fixture, inputs in
                groupNorm(inputs["x"]!, groups: fixture.int("groups")!, weight: inputs["weight"]!, bias: inputs["bias"]!,
                          eps: fixture.float("eps")!)
            }
        }
    }

    func testGroupNormGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 3)
        let x = Tensor.normal([2, 4, 5], generator: &generator)
        let weight = Tensor.normal([4], mean: 1, std: 0.3, generator: &generator)
        let bias = Tensor.normal([4], generator: &generator)
        XCTAssertLessThan(maxGradientError(inputs: [x, weight, bias]) {
            groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2])
        }, 1e-2)
    }
}
