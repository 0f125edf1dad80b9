import Foundation
import HFInterop
import Layers
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// Sequence classifiers against transformers: the directories scripts/make_seqcls_fixtures.py saved
/// (Fixtures/seqcls: BertForSequenceClassification, GPT2ForSequenceClassification, LlamaForSequenceClassification)
/// import with transformers' logits, and our export of them is what transformers saved, key for key.
final class HuggingFaceClassifierTests: XCTestCase {
    static let root = FixtureModels.root.appendingPathComponent("seqcls")

    func expected(_ name: String) throws -> (batch: PaddedTokens, logits: Tensor) {
        let tensors = try readTensors(Self.root.appendingPathComponent(name).appendingPathComponent("expected.safetensors"))
        return (PaddedTokens(tokens: tensors.ints["input_ids"]!, attentionMask: tensors.ints["attention_mask"]!),
                tensors.floats["logits"]!)
    }

    func logits(_ model: SequenceClassifier, _ batch: PaddedTokens) -> Tensor {
        model.eval()
        return noGrad { model.logits(batch) }
    }

    /// Imports `name` and compares our logits on the padded fixture batch with transformers' (max abs difference ≤ 1e-4).
    @discardableResult
    func checkLogits(_ name: String, family: HuggingFaceFamily, labels: [String],
                     file: StaticString = #filePath, line: UInt = #line) throws -> ImportedClassifier {
        let imported = try importHuggingFaceClassifier(directory: Self.root.appendingPathComponent(name))
        XCTAssertEqual(imported.family, family, file: file, line: line)
        XCTAssertEqual(imported.labels, labels, file: file, line: line)
        XCTAssertEqual(imported.padToken, 0, file: file, line: line)
        let (batch, reference) = try expected(name)
        let ours = logits(imported.model, batch)
        XCTAssertEqual(ours.shape, reference.shape, file: file, line: line)
        let difference = FixtureModels.maxAbsDifference(ours.scalars, reference.scalars)
        XCTAssertLessThan(difference, 1e-4, name, file: file, line: line)
        print("\(name): max |Δlogits| vs transformers = \(difference)")
        return imported
    }

    func testBertForSequenceClassificationMatchesTransformers() throws {
        try checkLogits("bert", family: .bert, labels: ["negative", "neutral", "positive"])
    }

    /// The fixture's first row holds the pad id (0) at position 3 under an attention mask of ones: the last token
    /// read is still the last non-pad one, as transformers reads it.
    func testGPT2ForSequenceClassificationMatchesTransformers() throws {
        let imported = try checkLogits("gpt2", family: .gpt2, labels: ["negative", "neutral", "positive"])
        let gpt = try XCTUnwrap(imported.model as? GPTForSequenceClassification)
        XCTAssertEqual(gpt.lastTokenPositions(try expected("gpt2").batch.tokens), [7, 4, 1])
    }

    func testLlamaForSequenceClassificationMatchesTransformers() throws {
        try checkLogits("llama", family: .llama, labels: ["no", "yes"])
    }

    /// Export of the imported classifier → the same tensor names and shapes as transformers' save_pretrained, and a
    /// config.json with the class, labels and pad id transformers wrote; importing it again gives the same logits bit
    /// for bit.
    func testExportHasTransformersKeysAndConfigAndRoundTrips() throws {
        for name in ["bert", "gpt2", "llama"] {
            let source = Self.root.appendingPathComponent(name)
            let imported = try importHuggingFaceClassifier(directory: source)
            let out = try makeTemporaryDirectory().appendingPathComponent(name)
            if let bert = imported.model as? BertForSequenceClassification {
                try exportHuggingFace(bert, labels: imported.labels, to: out, padToken: imported.padToken)
            } else {
                try exportHuggingFace(imported.model as! GPTForSequenceClassification, labels: imported.labels, to: out,
                                      endOfTextToken: 1)
            }
            let theirs = try SafeTensorsFile(contentsOf: source.appendingPathComponent("model.safetensors"))
            let ours = try SafeTensorsFile(contentsOf: out.appendingPathComponent("model.safetensors"))
            XCTAssertEqual(Set(ours.names), Set(theirs.names), name)
            for key in theirs.names where ours.names.contains(key) {
                XCTAssertEqual(try ours.info(key).shape, try theirs.info(key).shape, "\(name) \(key)")
            }

            let theirConfig = try jsonObject(source.appendingPathComponent("config.json"))
            let ourConfig = try jsonObject(out.appendingPathComponent("config.json"))
            for key in ["architectures", "model_type", "id2label", "label2id", "pad_token_id"] {
                XCTAssertEqual(ourConfig[key] as? NSObject, theirConfig[key] as? NSObject, "\(name) \(key)")
            }
            // Every field we write is one transformers writes for the class, but three that transformers 4 reads and 5
            // accepts: the dtype's older spelling, Llama's rope_theta beside rope_parameters, and BERT's
            // position_embedding_type (5 knows only absolute positions and no longer writes it).
            let extra = Set(ourConfig.keys).subtracting(theirConfig.keys)
                .subtracting(["torch_dtype", "rope_theta", "position_embedding_type"])
            XCTAssertEqual(extra, [], name)

            let again = try importHuggingFaceClassifier(directory: out)
            let batch = try expected(name).batch
            XCTAssertEqual(logits(again.model, batch).scalars, logits(imported.model, batch).scalars, name)
            XCTAssertEqual(again.labels, imported.labels)
        }
    }

    func testAMeanPoolingClassifierIsNotExported() throws {
        var generator = RandomGenerator(seed: 1)
        let bert = BertModel(FixtureModels.bertConfig, generator: &generator)
        let classifier = BertForSequenceClassification(bert: bert, labels: 2, pooling: .mean, generator: &generator)
        XCTAssertThrowsError(try exportHuggingFace(classifier, labels: ["a", "b"], to: try makeTemporaryDirectory())) { error in
            XCTAssertTrue("\(error)".contains("fine-tune with the cls head to export"), "\(error)")
        }
    }

    /// A causal-LM directory is not a classifier: the error names the class it lacks.
    func testACausalLMDirectoryIsNotAClassifier() throws {
        XCTAssertThrowsError(try importHuggingFaceClassifier(directory: FixtureModels.imports.appendingPathComponent("gpt2"))) { error in
            XCTAssertTrue("\(error)".contains("does not name GPT2ForSequenceClassification"), "\(error)")
        }
    }

    func jsonObject(_ url: URL) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }
}
