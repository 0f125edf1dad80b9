import Foundation
import HFInterop
import Layers
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// Export to transformers, checked against the committed report of scripts/check_hf_export.py.
final class HuggingFaceExportTests: XCTestCase {
    func report() throws -> [String: Any] {
        let data = try Data(contentsOf: FixtureModels.report)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// transformers loaded every export without missing, unexpected or mismatched keys, and its logits agree
    /// with ours within 1e-4 (max abs over 2 × 8 × 64 logits of order 1–10).
    func testTransformersAgreesWithEveryExport() throws {
        let exports = try XCTUnwrap(report()["export"] as? [String: [String: Any]])
        XCTAssertEqual(Set(exports.keys), Set(FixtureModels.families))
        for (family, entry) in exports {
            let difference = try XCTUnwrap(entry["max_abs_diff"] as? Double, family)
            XCTAssertLessThanOrEqual(difference, 1e-4, family)
            let loading = try XCTUnwrap(entry["loading"] as? [String: [String]], family)
            for (kind, keys) in loading { XCTAssertEqual(keys, [], "\(family) \(kind)") }
        }
    }

    /// The fixture is not stale: today's export of the same seeded model holds the committed tensors bit for bit,
    /// the same config.json, and our logits still equal the recorded ones (5e-5) and transformers' (1e-4).
    func testTodaysExportEqualsTheCheckedFixture() throws {
        if ExportFixtureWriter.requested { try ExportFixtureWriter.writeAll() }
        let exports = try XCTUnwrap(report()["export"] as? [String: [String: Any]])
        for family in FixtureModels.families {
            let committed = FixtureModels.exports.appendingPathComponent(family)
            let fresh = try makeTemporaryDirectory().appendingPathComponent(family)
            let model = FixtureModels.model(family)
            try FixtureModels.export(model, to: fresh)

            let old = try readTensors(committed.appendingPathComponent("model.safetensors")).floats
            let new = try readTensors(fresh.appendingPathComponent("model.safetensors")).floats
            XCTAssertEqual(Set(old.keys), Set(new.keys), family)
            for (name, tensor) in new {
                XCTAssertEqual(tensor.shape, old[name]?.shape, "\(family) \(name)")
                XCTAssertEqual(tensor.scalars, old[name]?.scalars, "\(family) \(name)")
            }
            let oldConfig = try JSONSerialization.jsonObject(with: Data(contentsOf: committed.appendingPathComponent("config.json"))) as! NSDictionary
            let newConfig = try JSONSerialization.jsonObject(with: Data(contentsOf: fresh.appendingPathComponent("config.json"))) as! NSDictionary
            XCTAssertEqual(oldConfig, newConfig, family)

            let recorded = try readTensors(committed.appendingPathComponent("swift_logits.safetensors"))
            var inputs = recorded.ints
            XCTAssertEqual(inputs.mapValues { $0.values }, FixtureModels.inputs(family).mapValues { $0.values }, family)
            inputs = FixtureModels.inputs(family)
            let logits = FixtureModels.logits(model, inputs).scalars
            // 5e-5: the recorded logits may come from another matrix backend (oneDNN vs OpenBLAS sum in other orders).
            XCTAssertLessThan(FixtureModels.maxAbsDifference(logits, recorded.floats["logits"]!.scalars), 5e-5, family)
            let theirs = try XCTUnwrap(exports[family]?["transformers_logits"] as? [Double], family).map { Float($0) }
            XCTAssertLessThan(FixtureModels.maxAbsDifference(logits, theirs), 1e-4, family)
        }
    }

    func testExportedConfigUsesHuggingFaceFieldNames() throws {
        let directory = try makeTemporaryDirectory()
        var generator = RandomGenerator(seed: 0)
        let gpt2 = GPTModel(GPTConfig(vocabSize: 50, contextLength: 12, layers: 3, dModel: 16, heads: 2, dropout: 0.1),
                            generator: &generator)
        try exportHuggingFace(gpt2, to: directory, endOfTextToken: 7)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("config.json"))) as! [String: Any]
        XCTAssertEqual(json["model_type"] as? String, "gpt2")
        XCTAssertEqual(json["architectures"] as? [String], ["GPT2LMHeadModel"])
        XCTAssertEqual(json["n_embd"] as? Int, 16)
        XCTAssertEqual(json["n_layer"] as? Int, 3)
        XCTAssertEqual(json["n_head"] as? Int, 2)
        XCTAssertEqual(json["n_positions"] as? Int, 12)
        XCTAssertEqual(json["vocab_size"] as? Int, 50)
        XCTAssertEqual(json["activation_function"] as? String, "gelu_new")
        XCTAssertEqual(json["layer_norm_epsilon"] as? Double, 1e-5)
        XCTAssertEqual(json["resid_pdrop"] as? Double, 0.1)
        XCTAssertEqual(json["tie_word_embeddings"] as? Bool, true)
        XCTAssertEqual(json["eos_token_id"] as? Int, 7)
        // GPT-2 stores Conv1D weights (in, out): c_attn (16, 48), the tied lm_head not at all.
        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(try file.info("transformer.h.0.attn.c_attn.weight").shape, [16, 48])
        XCTAssertEqual(try file.info("transformer.h.0.mlp.c_fc.weight").shape, [16, 64])
        XCTAssertEqual(try file.info("transformer.h.0.mlp.c_proj.weight").shape, [64, 16])
        XCTAssertFalse(file.names.contains("lm_head.weight"))
        XCTAssertEqual(file.metadata["format"], "pt")
    }

    func testTokenizerIsCopiedBesideTheModel() throws {
        let directory = try makeTemporaryDirectory()
        let tokenizer = directory.appendingPathComponent("source-tokenizer.json")
        try Data(#"{"model": {"type": "BPE"}}"#.utf8).write(to: tokenizer)
        let out = directory.appendingPathComponent("hf")
        var generator = RandomGenerator(seed: 0)
        let bert = BertForMaskedLM(BertConfig(vocabSize: 20, hiddenSize: 8, layers: 1, heads: 2, maxPositions: 8),
                                   generator: &generator)
        try exportHuggingFace(bert, to: out, tokenizer: tokenizer, padToken: 3)
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("tokenizer.json")), try Data(contentsOf: tokenizer))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json"))) as! [String: Any]
        XCTAssertEqual(json["pad_token_id"] as? Int, 3)
        XCTAssertEqual(json["architectures"] as? [String], ["BertForMaskedLM"])
        XCTAssertEqual(try importHuggingFace(directory: out).tokenizer?.lastPathComponent, "tokenizer.json")
    }
}
