import FileErrors
import Foundation
import Layers
import SafeTensors
import Tensors

/// Writes `model` as a Hugging Face directory that transformers loads with `from_pretrained`:
/// config.json (GPT2Config or LlamaConfig fields), model.safetensors (F32, `CheckpointLayout`), and a copy of
/// `tokenizer` (a tokenizer.json) when given. `endOfTextToken` becomes bos_token_id / eos_token_id.
public func exportHuggingFace(_ model: GPTModel, to directory: URL, tokenizer: URL? = nil,
                              endOfTextToken: Int? = nil) throws {
    let family: HuggingFaceFamily = model.config.flavor == .gpt2 ? .gpt2 : .llama
    let config = family == .gpt2 ? HuggingFaceConfig.gpt2(model.config, endOfTextToken: endOfTextToken)
                                 : HuggingFaceConfig.llama(model.config, endOfTextToken: endOfTextToken)
    try writeDirectory(directory, config: config, weights: CheckpointLayout.exportWeights(model, family: family),
                       tokenizer: tokenizer)
}

/// Writes `model` as a Hugging Face BertForMaskedLM directory (config.json, model.safetensors without the tied
/// decoder weight, tokenizer.json when given). `padToken` becomes pad_token_id (transformers' default is 0).
public func exportHuggingFace(_ model: BertForMaskedLM, to directory: URL, tokenizer: URL? = nil,
                              padToken: Int? = nil) throws {
    try writeDirectory(directory, config: HuggingFaceConfig.bert(model.config, padToken: padToken),
                       weights: CheckpointLayout.exportWeights(model, family: .bert), tokenizer: tokenizer)
}

func writeDirectory(_ directory: URL, config: [String: Any], weights: [(String, Tensor)], tokenizer: URL?) throws {
    let manager = FileManager.default
    try FileError.createDirectory(directory)
    // transformers reads the "format" metadata to know the tensors are PyTorch-ordered.
    var writer = SafeTensorsWriter(metadata: ["format": "pt"])
    for (name, tensor) in weights {
        try writer.add(name, shape: tensor.shape, floats: UnsafeBufferPointer(start: tensor.data, count: tensor.count))
    }
    try writer.write(to: directory.appendingPathComponent("model.safetensors"))
    try HuggingFaceConfig.write(config, to: directory.appendingPathComponent("config.json"))
    if let tokenizer {
        let target = directory.appendingPathComponent("tokenizer.json")
        guard let data = manager.contents(atPath: tokenizer.path) else {
            throw HuggingFaceError("\(tokenizer.path): cannot read the tokenizer to copy")
        }
        if tokenizer.standardizedFileURL != target.standardizedFileURL { try data.write(to: target, options: .atomic) }
    }
}
