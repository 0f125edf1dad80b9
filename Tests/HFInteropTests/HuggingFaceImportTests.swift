import Foundation
import HFInterop
import Layers
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// Import of directories written by transformers' save_pretrained (Fixtures/import, from
/// scripts/check_hf_export.py), strictness, and export → import round trips.
final class HuggingFaceImportTests: XCTestCase {
    func fixture(_ name: String) -> URL { FixtureModels.imports.appendingPathComponent(name) }

    /// Imports `name` and compares our logits with transformers' (max abs difference ≤ 1e-4).
    func checkLogits(_ name: String, family: HuggingFaceFamily, file: StaticString = #filePath, line: UInt = #line) throws {
        let imported = try importHuggingFace(directory: fixture(name))
        XCTAssertEqual(imported.family, family, file: file, line: line)
        XCTAssertEqual(imported.freshlyInitialized, [], file: file, line: line)
        imported.model.eval()
        let expected = try readTensors(fixture(name).appendingPathComponent("expected.safetensors"))
        let logits = FixtureModels.logits(imported.model, expected.ints)
        XCTAssertEqual(logits.shape, expected.floats["expected"]!.shape, file: file, line: line)
        XCTAssertLessThan(FixtureModels.maxAbsDifference(logits.scalars, expected.floats["expected"]!.scalars), 1e-4,
                          name, file: file, line: line)
    }

    func testGPT2MatchesTransformers() throws { try checkLogits("gpt2", family: .gpt2) }

    /// The original `gpt2` repository's layout: no `transformer.` prefix, attn.bias / masked_bias buffers.
    func testLegacyGPT2LayoutMatchesTransformers() throws { try checkLogits("gpt2_legacy", family: .gpt2) }

    func testLlamaMatchesTransformers() throws {
        try checkLogits("llama", family: .llama)
        let config = try XCTUnwrap(importHuggingFace(directory: fixture("llama")).gpt?.config)
        XCTAssertEqual(config.mlpHidden, 80)
        XCTAssertFalse(config.tiesEmbeddings)
    }

    func testTiedLlamaWithAnotherRopeBaseMatchesTransformers() throws {
        try checkLogits("llama_tied", family: .llama)
        let config = try XCTUnwrap(importHuggingFace(directory: fixture("llama_tied")).gpt?.config)
        XCTAssertEqual(config.ropeBase, 500)
        XCTAssertTrue(config.tiesEmbeddings)
    }

    func testBertForMaskedLMMatchesTransformers() throws { try checkLogits("bert", family: .bert) }

    /// A BertForPreTraining checkpoint in Google's converted layout (LayerNorm gamma/beta, pooler, NSP head,
    /// stored decoder weight and bias): the MLM part loads, the rest is dropped.
    func testBertPreTrainingCheckpointMatchesTransformers() throws { try checkLogits("bert_pretraining", family: .bert) }

    func testEncoderOnlyBertNeedsAnExplicitFreshHead() throws {
        XCTAssertThrowsError(try importHuggingFace(directory: fixture("bert_encoder"))) { error in
            XCTAssertTrue("\(error)".contains("encoder-only"), "\(error)")
        }
    }

    /// An encoder-only BertModel (keys without `bert.`, a pooler, no head) imports with a fresh masked-LM head:
    /// the encoder's hidden states equal transformers' (1e-4), the head is BERT-initialised and named.
    func testEncoderOnlyBertImportsWithAFreshHead() throws {
        let imported = try importHuggingFace(directory: fixture("bert_encoder"),
                                             options: HuggingFaceImportOptions(freshMaskedLMHead: true, seed: 3))
        let bert = try XCTUnwrap(imported.bert)
        XCTAssertEqual(imported.freshlyInitialized, BertForMaskedLM.headParameterNames)
        bert.eval()
        let expected = try readTensors(fixture("bert_encoder").appendingPathComponent("expected.safetensors"))
        let hidden = noGrad {
            bert.bert(tokens: expected.ints["input_ids"]!, attentionMask: expected.ints["attention_mask"],
                      tokenTypes: expected.ints["token_type_ids"])
        }
        XCTAssertLessThan(FixtureModels.maxAbsDifference(hidden.scalars, expected.floats["expected"]!.scalars), 1e-4)
        XCTAssertTrue(bert.outputBias.scalars.allSatisfy { $0 == 0 })
        XCTAssertTrue(bert.transformNorm.weight.scalars.allSatisfy { $0 == 1 })
        let dense = bert.transform.weight.scalars
        let std = (dense.map { $0 * $0 }.reduce(0, +) / Float(dense.count)).squareRoot()
        XCTAssertEqual(std, 0.02, accuracy: 0.004)
        // It then trains: the MLM loss has gradients for the new head and the imported encoder.
        let loss = bert.loss(tokens: expected.ints["input_ids"]!, targets: IntTensor([Int32](repeating: -100, count: 15) + [5], shape: [2, 8]))
        loss.backward()
        XCTAssertNotNil(bert.transform.weight.grad)
        XCTAssertNotNil(bert.bert.embeddings.word.weight.grad)
    }

    func testRoundTripKeepsEveryParameter() throws {
        for family in FixtureModels.families {
            let model = FixtureModels.model(family)
            let directory = try makeTemporaryDirectory()
            try FixtureModels.export(model, to: directory)
            let imported = try importHuggingFace(directory: directory)
            let original = model.stateDict(), loaded = imported.model.stateDict()
            XCTAssertEqual(Set(original.keys), Set(loaded.keys), family)
            for (name, tensor) in original { XCTAssertEqual(tensor.scalars, loaded[name]?.scalars, "\(family) \(name)") }
            if let gpt = model as? GPTModel { XCTAssertEqual(imported.gpt?.config, gpt.config, family) }
            if let bert = model as? BertForMaskedLM { XCTAssertEqual(imported.bert?.config, bert.config, family) }
        }
    }

    // MARK: strictness

    /// Copies the gpt2 fixture, edits its tensors, and returns the import error's message.
    func importError(editing edit: (inout [String: Tensor]) -> Void) throws -> String {
        let directory = try makeTemporaryDirectory()
        try FileManager.default.copyItem(at: fixture("gpt2").appendingPathComponent("config.json"),
                                         to: directory.appendingPathComponent("config.json"))
        var tensors = try readTensors(fixture("gpt2").appendingPathComponent("model.safetensors")).floats
        edit(&tensors)
        try FixtureModels.writeTensors(tensors, ints: [:], to: directory.appendingPathComponent("model.safetensors"))
        do {
            _ = try importHuggingFace(directory: directory)
        } catch {
            return "\(error)"
        }
        XCTFail("the import should have failed")
        return ""
    }

    func testMissingTensorIsAnErrorNamingIt() throws {
        let message = try importError { $0["transformer.h.1.ln_2.bias"] = nil }
        XCTAssertTrue(message.contains("missing: transformer.h.1.ln_2.bias"), message)
    }

    func testUnusedTensorIsAnErrorNamingIt() throws {
        let message = try importError { $0["transformer.h.0.attn.rotary.weight"] = Tensor(zeros: [2]) }
        XCTAssertTrue(message.contains("unused: transformer.h.0.attn.rotary.weight"), message)
    }

    func testWrongShapeIsAnErrorNamingIt() throws {
        let message = try importError { $0["transformer.wpe.weight"] = Tensor(zeros: [8, 32]) }
        XCTAssertTrue(message.contains("transformer.wpe.weight"), message)
        XCTAssertTrue(message.contains("[8, 32]"), message)
    }

    func testUnsupportedConfigIsAnErrorNamingTheField() throws {
        let directory = try makeTemporaryDirectory()
        try FileManager.default.copyItem(at: fixture("llama").appendingPathComponent("model.safetensors"),
                                         to: directory.appendingPathComponent("model.safetensors"))
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture("llama").appendingPathComponent("config.json"))) as! [String: Any]
        json["num_key_value_heads"] = 2
        try JSONSerialization.data(withJSONObject: json).write(to: directory.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try importHuggingFace(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("num_key_value_heads"), "\(error)")
        }
    }

    func testDirectoryWithoutSafetensorsIsAnError() throws {
        let directory = try makeTemporaryDirectory()
        try FileManager.default.copyItem(at: fixture("gpt2").appendingPathComponent("config.json"),
                                         to: directory.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try importHuggingFace(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("no model.safetensors"), "\(error)")
        }
    }
}
