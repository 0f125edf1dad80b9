import Layers
import Tensors
import XCTest

/// Transformer blocks against PyTorch references (scripts/make_fixtures.py). Parameters are loaded strictly
/// by their Hugging Face names. Tolerances, forward and every gradient: atol 1e-4, rtol 1e-3 (float32
/// through two matmul chains, a softmax and two norms, against a float64 reference).
final class BlockFixtureTests: XCTestCase {
    func testGPT2BlockMatchesTorch() throws {
        let fixture = try LayerFixture("gpt2_block")
        var generator = RandomGenerator(seed: 1)
        let block = GPT2Block(dModel: fixture.int("n_embd")!, heads: fixture.int("n_head")!,
                              eps: fixture.float("layer_norm_eps")!, generator: &generator)
        try block.load(try fixture.tensors(prefix: "param."))
        let x = try fixture.tensor("in.x", requiresGrad: true)
        try checkBlockAgainstTorch(fixture, module: block, x: x, out: block(x), atol: 1e-4, rtol: 1e-3)
    }

    func testBertLayerWithPaddingMaskMatchesTorch() throws {
        let fixture = try LayerFixture("bert_block")
        var generator = RandomGenerator(seed: 1)
        let layer = BertLayer(dModel: fixture.int("hidden_size")!, heads: fixture.int("n_head")!,
                              intermediateSize: fixture.int("intermediate_size")!,
                              eps: fixture.float("layer_norm_eps")!, generator: &generator)
        try layer.load(try fixture.tensors(prefix: "param."))
        let x = try fixture.tensor("in.x", requiresGrad: true)
        let mask = try fixture.indices("attention_mask")
        XCTAssertTrue(mask.values.contains(0), "the fixture pads some keys")
        try checkBlockAgainstTorch(fixture, module: layer, x: x, out: layer(x, attentionMask: mask),
                                   atol: 1e-4, rtol: 1e-3)
    }

    func testLlamaBlockMatchesTorch() throws {
        let fixture = try LayerFixture("llama_block")
        var generator = RandomGenerator(seed: 1)
        let block = LlamaBlock(dModel: fixture.int("n_embd")!, heads: fixture.int("n_head")!,
                               mlpHidden: fixture.int("intermediate_size")!, eps: fixture.float("rms_norm_eps")!,
                               ropeBase: fixture.float("rope_theta")!, generator: &generator)
        try block.load(try fixture.tensors(prefix: "param."))
        let x = try fixture.tensor("in.x", requiresGrad: true)
        try checkBlockAgainstTorch(fixture, module: block, x: x, out: block(x), atol: 1e-4, rtol: 1e-3)
    }
}
