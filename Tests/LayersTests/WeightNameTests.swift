import Layers
import Tensors
import XCTest

/// The audited weight-name map: a 2-layer GPTModel's parameter names and shapes equal the keys of the
/// matching Hugging Face checkpoint (GPT2LMHeadModel without the tied lm_head, LlamaForCausalLM), in both
/// directions: nothing missing, nothing extra.
final class WeightNameTests: XCTestCase {
    // vocab 64, context 16, d 32, 4 heads; llama feed-forward width 8/3·32 rounded up to 64 = 128.
    let config = GPTConfig(vocabSize: 64, contextLength: 16, layers: 2, dModel: 32, heads: 4)

    func assertNames(_ model: GPTModel, _ expected: [(String, [Int])], file: StaticString = #filePath, line: UInt = #line) {
        let actual = model.namedParameters().map { ($0.name, $0.tensor.shape) }
        let actualNames = actual.map { $0.0 }, expectedNames = expected.map { $0.0 }
        XCTAssertEqual(actualNames.count, Set(actualNames).count, "duplicate names", file: file, line: line)
        XCTAssertEqual(Set(expectedNames).subtracting(actualNames).sorted(), [], "missing from the model", file: file, line: line)
        XCTAssertEqual(Set(actualNames).subtracting(expectedNames).sorted(), [], "not in the checkpoint", file: file, line: line)
        let expectedShapes = Dictionary(uniqueKeysWithValues: expected)
        for (name, shape) in actual where expectedShapes[name] != nil {
            XCTAssertEqual(shape, expectedShapes[name], name, file: file, line: line)
        }
    }

    func testGPT2NamesAreHuggingFaceKeys() {
        var generator = RandomGenerator(seed: 0)
        let model = GPTModel(config, generator: &generator)
        assertNames(model, [
            ("transformer.wte.weight", [64, 32]),
            ("transformer.wpe.weight", [16, 32]),
            ("transformer.h.0.ln_1.weight", [32]),
            ("transformer.h.0.ln_1.bias", [32]),
            ("transformer.h.0.attn.c_attn.weight", [96, 32]),
            ("transformer.h.0.attn.c_attn.bias", [96]),
            ("transformer.h.0.attn.c_proj.weight", [32, 32]),
            ("transformer.h.0.attn.c_proj.bias", [32]),
            ("transformer.h.0.ln_2.weight", [32]),
            ("transformer.h.0.ln_2.bias", [32]),
            ("transformer.h.0.mlp.c_fc.weight", [128, 32]),
            ("transformer.h.0.mlp.c_fc.bias", [128]),
            ("transformer.h.0.mlp.c_proj.weight", [32, 128]),
            ("transformer.h.0.mlp.c_proj.bias", [32]),
            ("transformer.h.1.ln_1.weight", [32]),
            ("transformer.h.1.ln_1.bias", [32]),
            ("transformer.h.1.attn.c_attn.weight", [96, 32]),
            ("transformer.h.1.attn.c_attn.bias", [96]),
            ("transformer.h.1.attn.c_proj.weight", [32, 32]),
            ("transformer.h.1.attn.c_proj.bias", [32]),
            ("transformer.h.1.ln_2.weight", [32]),
            ("transformer.h.1.ln_2.bias", [32]),
            ("transformer.h.1.mlp.c_fc.weight", [128, 32]),
            ("transformer.h.1.mlp.c_fc.bias", [128]),
            ("transformer.h.1.mlp.c_proj.weight", [32, 128]),
            ("transformer.h.1.mlp.c_proj.bias", [32]),
            ("transformer.ln_f.weight", [32]),
            ("transformer.ln_f.bias", [32]),
        ])
    }

    func testUntiedGPT2AddsLMHead() {
        var untied = config
        untied.tieEmbeddings = false
        var generator = RandomGenerator(seed: 0)
        let names = GPTModel(untied, generator: &generator).namedParameters().map { $0.name }
        XCTAssertEqual(names.last, "lm_head.weight")
        XCTAssertEqual(names.count, 29)
    }

    func testLlamaNamesAreHuggingFaceKeys() {
        var llama = config
        llama.flavor = .llama
        var generator = RandomGenerator(seed: 0)
        let model = GPTModel(llama, generator: &generator)
        assertNames(model, [
            ("model.embed_tokens.weight", [64, 32]),
            ("model.layers.0.input_layernorm.weight", [32]),
            ("model.layers.0.self_attn.q_proj.weight", [32, 32]),
            ("model.layers.0.self_attn.k_proj.weight", [32, 32]),
            ("model.layers.0.self_attn.v_proj.weight", [32, 32]),
            ("model.layers.0.self_attn.o_proj.weight", [32, 32]),
            ("model.layers.0.post_attention_layernorm.weight", [32]),
            ("model.layers.0.mlp.gate_proj.weight", [128, 32]),
            ("model.layers.0.mlp.up_proj.weight", [128, 32]),
            ("model.layers.0.mlp.down_proj.weight", [32, 128]),
            ("model.layers.1.input_layernorm.weight", [32]),
            ("model.layers.1.self_attn.q_proj.weight", [32, 32]),
            ("model.layers.1.self_attn.k_proj.weight", [32, 32]),
            ("model.layers.1.self_attn.v_proj.weight", [32, 32]),
            ("model.layers.1.self_attn.o_proj.weight", [32, 32]),
            ("model.layers.1.post_attention_layernorm.weight", [32]),
            ("model.layers.1.mlp.gate_proj.weight", [128, 32]),
            ("model.layers.1.mlp.up_proj.weight", [128, 32]),
            ("model.layers.1.mlp.down_proj.weight", [32, 128]),
            ("model.norm.weight", [32]),
            ("lm_head.weight", [64, 32]),
        ])
    }

    func testBertLayerNamesAreHuggingFaceKeys() {
        var generator = RandomGenerator(seed: 0)
        let names = BertLayer(dModel: 16, heads: 4, generator: &generator).namedParameters().map { $0.name }
        XCTAssertEqual(names, [
            "attention.self.query.weight", "attention.self.query.bias",
            "attention.self.key.weight", "attention.self.key.bias",
            "attention.self.value.weight", "attention.self.value.bias",
            "attention.output.dense.weight", "attention.output.dense.bias",
            "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
            "intermediate.dense.weight", "intermediate.dense.bias",
            "output.dense.weight", "output.dense.bias",
            "output.LayerNorm.weight", "output.LayerNorm.bias",
        ])
    }
}
