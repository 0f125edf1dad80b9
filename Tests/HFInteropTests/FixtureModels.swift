import Foundation
import HFInterop
import Layers
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// The tiny seeded models whose exports scripts/check_hf_export.py loads with transformers, their inputs, and
/// helpers shared by the interop tests.
enum FixtureModels {
    static let root = fixtureURL("HFInteropTests")
    static let exports = root.appendingPathComponent("export")
    static let imports = root.appendingPathComponent("import")
    static let report = root.appendingPathComponent("hf_agreement.json")

    static let gptFamilies = ["gpt2", "llama"]
    static let families = gptFamilies + ["bert"]

    static func gptConfig(_ family: String) -> GPTConfig {
        GPTConfig(vocabSize: 64, contextLength: 16, layers: 2, dModel: 32, heads: 4,
                  flavor: family == "gpt2" ? .gpt2 : .llama)
    }

    static let bertConfig = BertConfig(vocabSize: 64, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 48,
                                       maxPositions: 16, dropout: 0)

    /// The seeded model of a family. Weights are redrawn from N(0, 0.3²) (norm weights 1 + N(0, 0.1²), norm
    /// biases N(0, 0.1²)) so that every layer shapes the logits (initialisation at 0.02 leaves them near 0 and
    /// would hide a wrong transpose).
    static func model(_ family: String) -> Module {
        var generator = RandomGenerator(seed: 2024)
        let model: Module = family == "bert" ? BertForMaskedLM(bertConfig, generator: &generator)
                                             : GPTModel(gptConfig(family), generator: &generator)
        for module in model.modules() {
            switch module {
            case let norm as LayerNorm:
                Initializer.normal(norm.weight, mean: 1, std: 0.1, generator: &generator)
                if let bias = norm.bias { Initializer.normal(bias, std: 0.1, generator: &generator) }
            case let norm as RMSNorm:
                Initializer.normal(norm.weight, mean: 1, std: 0.1, generator: &generator)
            case let layer as Linear:
                Initializer.normal(layer.weight, std: 0.3, generator: &generator)
                if let bias = layer.bias { Initializer.normal(bias, std: 0.1, generator: &generator) }
            case let table as Embedding:
                Initializer.normal(table.weight, std: 0.3, generator: &generator)
            default: break
            }
        }
        if let bert = model as? BertForMaskedLM { Initializer.normal(bert.outputBias, std: 0.1, generator: &generator) }
        model.eval()
        return model
    }

    /// Fixed inputs: ids (2, 8); for BERT also an attention mask (the second row's last 3 positions padded)
    /// and token types.
    static func inputs(_ family: String) -> [String: IntTensor] {
        var generator = RandomGenerator(seed: 7)
        let ids = IntTensor((0..<16).map { _ in generator.nextInt(below: 64) }, shape: [2, 8])
        guard family == "bert" else { return ["input_ids": ids] }
        return ["input_ids": ids,
                "attention_mask": IntTensor([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], shape: [2, 8]),
                "token_type_ids": IntTensor([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1], shape: [2, 8])]
    }

    /// Logits (B, T, V) of a GPTModel or BertForMaskedLM for `inputs`.
    static func logits(_ model: Module, _ inputs: [String: IntTensor]) -> Tensor {
        noGrad {
            if let gpt = model as? GPTModel { return gpt.forward(tokens: inputs["input_ids"]!) }
            let bert = model as! BertForMaskedLM
            return bert.forward(tokens: inputs["input_ids"]!, attentionMask: inputs["attention_mask"],
                                tokenTypes: inputs["token_type_ids"])
        }
    }

    static func export(_ model: Module, to directory: URL) throws {
        if let gpt = model as? GPTModel { try exportHuggingFace(gpt, to: directory) }
        else { try exportHuggingFace(model as! BertForMaskedLM, to: directory) }
    }

    // MARK: files

    static func writeTensors(_ floats: [String: Tensor], ints: [String: IntTensor], to url: URL) throws {
        var writer = SafeTensorsWriter()
        for (name, tensor) in floats { try writer.add(name, shape: tensor.shape, floats: tensor.scalars) }
        for (name, tensor) in ints { try writer.add(name, shape: tensor.shape, ints: tensor.values.map { Int($0) }) }
        try writer.write(to: url)
    }

    static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }
}

/// Writes the export fixtures that scripts/check_hf_export.py reads: for each family, the exported directory
/// and swift_logits.safetensors (inputs and our logits). Not a test: scripts/check_hf_export.py runs it with
/// HF_FIXTURES_WRITE=1, which `testTodaysExportEqualsTheCheckedFixture` (HuggingFaceExportTests) honours.
enum ExportFixtureWriter {
    static var requested: Bool { ProcessInfo.processInfo.environment["HF_FIXTURES_WRITE"] == "1" }

    static func writeAll() throws {
        for family in FixtureModels.families {
            let model = FixtureModels.model(family), inputs = FixtureModels.inputs(family)
            let directory = FixtureModels.exports.appendingPathComponent(family)
            try FixtureModels.export(model, to: directory)
            try FixtureModels.writeTensors(["logits": FixtureModels.logits(model, inputs)], ints: inputs,
                                           to: directory.appendingPathComponent("swift_logits.safetensors"))
        }
    }
}
