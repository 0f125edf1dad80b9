import Foundation
import Layers
import SafeTensors
import Tensors

/// Where a Hugging Face checkpoint differs from our parameter names and layouts, per family. Parameter names
/// are already the Hugging Face keys (`GPTModel.WeightNames`, `BertForMaskedLM`), so this table is all that
/// export and import change:
///
/// | family | on export                                     | dropped on import (`sanitize`)                                   |
/// |--------|-----------------------------------------------|------------------------------------------------------------------|
/// | gpt2   | Conv1D weights (in, out): transpose c_attn,   | `attn.bias`, `attn.masked_bias` (causal-mask buffers); `lm_head` |
/// |        | attn.c_proj, c_fc, mlp.c_proj                 | when tied; keys without `transformer.` gain it                   |
/// | llama  | —                                             | `rotary_emb.inv_freq` buffers; `lm_head` when tied               |
/// | bert   | —                                             | `position_ids`, `token_type_ids` buffers; the pooler; the NSP    |
/// |        |                                               | head `cls.seq_relationship`; the tied `cls.predictions.decoder`  |
/// |        |                                               | (`decoder.bias` stands in for a missing `cls.predictions.bias`); |
/// |        |                                               | legacy `LayerNorm.gamma/beta` become weight/bias; keys without   |
/// |        |                                               | `bert.` (an encoder-only BertModel) gain it                      |
///
/// Sequence classifiers (`HuggingFaceClassifier.swift`) add `classifier.*` and keep `bert.pooler.dense.*` (BERT), or
/// add `score.weight` and have no `lm_head` (gpt2, llama); the rest of the table applies to them unchanged.
enum CheckpointLayout {
    /// GPT-2's Conv1D modules store their weight as (in, out), the transpose of a Linear's (out, in).
    static let conv1DSuffixes = [".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight"]

    static func isConv1DWeight(_ name: String) -> Bool { conv1DSuffixes.contains { name.hasSuffix($0) } }

    /// Keys transformers keeps in some checkpoints that are buffers, not parameters, or parts a model here does not
    /// have (BERT's pooler and NSP head, except that a sequence classifier, `classifier`, has the pooler): skipped
    /// before decoding.
    static func isBuffer(_ name: String, family: HuggingFaceFamily, classifier: Bool = false) -> Bool {
        switch family {
        case .gpt2: return name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias")
        case .llama: return name.hasSuffix("rotary_emb.inv_freq") || name.hasSuffix("rotary_emb.original_inv_freq")
        case .bert:
            return name.hasSuffix("embeddings.position_ids") || name.hasSuffix("embeddings.token_type_ids")
                || (!classifier && (name.hasPrefix("pooler.") || name.hasPrefix("bert.pooler.")))
                || name.hasPrefix("cls.seq_relationship.")
        }
    }

    /// (rows, cols) → (cols, rows).
    static func transposed(_ tensor: Tensor) -> Tensor {
        precondition(tensor.rank == 2, "transpose of \(tensor.shape)")
        let (rows, cols) = (tensor.size(0), tensor.size(1))
        let out = Tensor(uninitialized: [cols, rows])
        let source = tensor.data, target = out.data
        for r in 0..<rows { for c in 0..<cols { target[c * rows + r] = source[r * cols + c] } }
        return out
    }

    /// Our parameters → the tensors of the family's model.safetensors.
    static func exportWeights(_ model: Module, family: HuggingFaceFamily) -> [(String, Tensor)] {
        model.namedParameters().map { name, tensor in
            (name, family == .gpt2 && isConv1DWeight(name) ? transposed(tensor) : tensor)
        }
    }

    /// A checkpoint's tensors (buffers already skipped) → our parameter names and layouts.
    /// `tied`: the output projection shares the token embedding (a stored `lm_head.weight` is then a copy).
    static func sanitize(_ weights: [String: Tensor], family: HuggingFaceFamily, tied: Bool,
                         source: String) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        switch family {
        case .gpt2:
            // GPT2Model checkpoints (the original `gpt2` repository) have no `transformer.` prefix.
            let bare = !weights.keys.contains { $0.hasPrefix("transformer.") }
            for (name, tensor) in weights {
                if name == "lm_head.weight" { if !tied { result[name] = tensor }; continue }
                let key = bare ? "transformer." + name : name
                if isConv1DWeight(key) {
                    guard tensor.rank == 2 else {
                        throw HuggingFaceError("\(source): \(name) should be a Conv1D weight (in, out), has shape \(tensor.shape)")
                    }
                    result[key] = transposed(tensor)
                } else {
                    result[key] = tensor
                }
            }
        case .llama:
            for (name, tensor) in weights where !(name == "lm_head.weight" && tied) { result[name] = tensor }
        case .bert:
            let bare = !weights.keys.contains { $0.hasPrefix("bert.") }
            for (name, tensor) in weights {
                var key = name
                if key.hasSuffix(".gamma") { key = String(key.dropLast(6)) + ".weight" }
                if key.hasSuffix(".beta") { key = String(key.dropLast(5)) + ".bias" }
                if bare && !key.hasPrefix("cls.") { key = "bert." + key }
                if key == "cls.predictions.decoder.weight" { continue }                    // tied to the word embeddings
                if key == "cls.predictions.decoder.bias" {                                   // the same tensor as cls.predictions.bias
                    if weights["cls.predictions.bias"] == nil { result["cls.predictions.bias"] = tensor }
                    continue
                }
                result[key] = tensor
            }
        }
        return result
    }

    /// model.safetensors, or the shards a model.safetensors.index.json lists, as Float32 tensors, skipping the
    /// family's buffers without decoding them.
    static func readWeights(_ directory: URL, family: HuggingFaceFamily, classifier: Bool = false) throws -> [String: Tensor] {
        let single = directory.appendingPathComponent("model.safetensors")
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        var files: [URL]
        if FileManager.default.fileExists(atPath: single.path) {
            files = [single]
        } else if FileManager.default.fileExists(atPath: index.path) {
            guard let data = FileManager.default.contents(atPath: index.path),
                  let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let map = json["weight_map"] as? [String: String] else {
                throw HuggingFaceError("\(index.path): no \"weight_map\" object")
            }
            files = Set(map.values).sorted().map { directory.appendingPathComponent($0) }
        } else {
            let legacy = FileManager.default.fileExists(atPath: directory.appendingPathComponent("pytorch_model.bin").path)
            throw HuggingFaceError("\(directory.path): no model.safetensors" + (legacy
                ? " (only pytorch_model.bin: convert it with transformers, `model.save_pretrained(dir, safe_serialization=True)`)" : ""))
        }
        var weights: [String: Tensor] = [:]
        for url in files {
            let file = try SafeTensorsFile(contentsOf: url)
            for name in file.names where !isBuffer(name, family: family, classifier: classifier) {
                let (shape, values) = try file.floats(name)
                guard weights[name] == nil else { throw HuggingFaceError("\(url.path): tensor \(name) appears in two shards") }
                weights[name] = Tensor(values, shape: shape)
            }
        }
        return weights
    }
}
