import Foundation
import Layers

/// The model families a Hugging Face directory can hold here, by `model_type`.
public enum HuggingFaceFamily: String, CaseIterable {
    /// GPT2LMHeadModel ↔ `GPTModel` with flavour `.gpt2`.
    case gpt2
    /// LlamaForCausalLM ↔ `GPTModel` with flavour `.llama`.
    case llama
    /// BertForMaskedLM (or an encoder-only BertModel) ↔ `BertForMaskedLM`.
    case bert

    public var architecture: String {
        switch self {
        case .gpt2: return "GPT2LMHeadModel"
        case .llama: return "LlamaForCausalLM"
        case .bert: return "BertForMaskedLM"
        }
    }
}

/// Errors a user can cause with a Hugging Face directory; each names the file and the key.
public struct HuggingFaceError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// config.json in each family's field names, written and read. Reading accepts every field transformers
/// writes, uses transformers' defaults for absent ones, and rejects settings this engine cannot reproduce
/// (another activation, grouped-query attention, rope scaling, …) with a message naming the field.
enum HuggingFaceConfig {
    // MARK: writing

    static func gpt2(_ config: GPTConfig, endOfTextToken: Int?) -> [String: Any] {
        var json: [String: Any] = [
            "architectures": [HuggingFaceFamily.gpt2.architecture], "model_type": "gpt2",
            "vocab_size": config.vocabSize, "n_positions": config.contextLength, "n_embd": config.dModel,
            "n_layer": config.layers, "n_head": config.heads,
            "n_inner": config.feedForwardWidth == 4 * config.dModel ? NSNull() : config.feedForwardWidth as Any,
            "activation_function": "gelu_new", "layer_norm_epsilon": decimal(config.layerNormEps),
            // Dropout sits on the embeddings and the residual branches here; there is none on attention weights.
            "resid_pdrop": decimal(config.dropout), "embd_pdrop": decimal(config.dropout), "attn_pdrop": 0.0,
            "tie_word_embeddings": config.tiesEmbeddings, "scale_attn_weights": true,
            "initializer_range": 0.02, "torch_dtype": "float32",
        ]
        json["bos_token_id"] = endOfTextToken.map { $0 as Any } ?? NSNull()
        json["eos_token_id"] = endOfTextToken.map { $0 as Any } ?? NSNull()
        return json
    }

    static func llama(_ config: GPTConfig, endOfTextToken: Int?) -> [String: Any] {
        var json: [String: Any] = [
            "architectures": [HuggingFaceFamily.llama.architecture], "model_type": "llama",
            "vocab_size": config.vocabSize, "max_position_embeddings": config.contextLength,
            "hidden_size": config.dModel, "intermediate_size": config.feedForwardWidth,
            "num_hidden_layers": config.layers, "num_attention_heads": config.heads,
            "num_key_value_heads": config.heads, "head_dim": config.dModel / config.heads,
            "hidden_act": "silu", "rms_norm_eps": decimal(config.layerNormEps),
            // transformers ≥ 5 reads rope_parameters, earlier versions rope_theta; both are written.
            "rope_theta": decimal(config.ropeBase),
            "rope_parameters": ["rope_type": "default", "rope_theta": decimal(config.ropeBase)] as [String: Any],
            "attention_bias": false, "mlp_bias": false, "attention_dropout": 0.0,
            "tie_word_embeddings": config.tiesEmbeddings, "initializer_range": 0.02, "torch_dtype": "float32",
        ]
        json["bos_token_id"] = endOfTextToken.map { $0 as Any } ?? NSNull()
        json["eos_token_id"] = endOfTextToken.map { $0 as Any } ?? NSNull()
        return json
    }

    static func bert(_ config: BertConfig, padToken: Int?) -> [String: Any] {
        [
            "architectures": [HuggingFaceFamily.bert.architecture], "model_type": "bert",
            "vocab_size": config.vocabSize, "hidden_size": config.hiddenSize, "num_hidden_layers": config.layers,
            "num_attention_heads": config.heads, "intermediate_size": config.intermediateSize, "hidden_act": "gelu",
            "max_position_embeddings": config.maxPositions, "type_vocab_size": config.typeVocabSize,
            "layer_norm_eps": decimal(config.layerNormEps), "hidden_dropout_prob": decimal(config.dropout),
            "attention_probs_dropout_prob": 0.0, "position_embedding_type": "absolute",
            "pad_token_id": padToken ?? 0, "tie_word_embeddings": true, "initializer_range": 0.02,
            "torch_dtype": "float32",
        ]
    }

    /// A Float as the Double with the shortest decimal spelling (1e-5, not 9.999999747378752e-06).
    static func decimal(_ value: Float) -> Double { Double("\(value)")! }

    static func write(_ json: [String: Any], to url: URL) throws {
        let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
        try (data + Data("\n".utf8)).write(to: url, options: .atomic)
    }

    // MARK: reading

    /// A parsed config.json with typed accessors that throw messages naming the file and the key.
    struct Reader {
        let json: [String: Any]
        let url: URL

        init(contentsOf url: URL) throws {
            self.url = url
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw HuggingFaceError("\(url.path): cannot read the file (a Hugging Face model directory holds config.json)")
            }
            guard let object = try? JSONSerialization.jsonObject(with: data), let json = object as? [String: Any] else {
                throw HuggingFaceError("\(url.path): not a JSON object")
            }
            self.json = json
        }

        func has(_ key: String) -> Bool { json[key] != nil && !(json[key] is NSNull) }

        func int(_ key: String, default fallback: Int? = nil) throws -> Int {
            guard has(key) else {
                if let fallback { return fallback }
                throw HuggingFaceError("\(url.path): missing \"\(key)\"")
            }
            guard let number = json[key] as? NSNumber, let value = Int(exactly: number.doubleValue) else {
                throw HuggingFaceError("\(url.path): \"\(key)\" must be an integer, got \(json[key]!)")
            }
            return value
        }

        func float(_ key: String, default fallback: Float? = nil) throws -> Float {
            guard has(key) else {
                if let fallback { return fallback }
                throw HuggingFaceError("\(url.path): missing \"\(key)\"")
            }
            guard let number = json[key] as? NSNumber else {
                throw HuggingFaceError("\(url.path): \"\(key)\" must be a number, got \(json[key]!)")
            }
            return number.floatValue
        }

        func bool(_ key: String, default fallback: Bool) throws -> Bool {
            guard has(key) else { return fallback }
            guard let value = json[key] as? Bool else {
                throw HuggingFaceError("\(url.path): \"\(key)\" must be true or false, got \(json[key]!)")
            }
            return value
        }

        func string(_ key: String, default fallback: String? = nil) throws -> String? {
            guard has(key) else { return fallback }
            guard let value = json[key] as? String else {
                throw HuggingFaceError("\(url.path): \"\(key)\" must be a string, got \(json[key]!)")
            }
            return value
        }

        /// Throws unless `key` is absent or equals one of `allowed`.
        func expect(_ key: String, in allowed: [String], why: String) throws {
            guard let value = try string(key) else { return }
            guard allowed.contains(value) else {
                throw HuggingFaceError("\(url.path): \"\(key)\": \"\(value)\" is not supported (\(why)); expected \(allowed.map { "\"\($0)\"" }.joined(separator: " or "))")
            }
        }

        func expect(_ key: String, equals expected: Bool, why: String) throws {
            guard has(key) else { return }
            guard try bool(key, default: expected) == expected else {
                throw HuggingFaceError("\(url.path): \"\(key)\": \(!expected) is not supported (\(why))")
            }
        }

        func family() throws -> HuggingFaceFamily {
            if let type = try string("model_type") {
                guard let family = HuggingFaceFamily(rawValue: type) else {
                    throw HuggingFaceError("\(url.path): model_type \"\(type)\" is not supported; expected one of \(HuggingFaceFamily.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
                }
                return family
            }
            let architectures = json["architectures"] as? [String] ?? []
            for (prefix, family) in [("GPT2", HuggingFaceFamily.gpt2), ("Llama", .llama), ("Bert", .bert)]
            where architectures.contains(where: { $0.hasPrefix(prefix) }) {
                return family
            }
            throw HuggingFaceError("\(url.path): no \"model_type\" (gpt2, llama or bert)")
        }
    }

    /// The config as `GPTConfig` spells it: a feed-forward width or tying that equals the flavour's default is
    /// left nil, so that export → import gives back an equal config.
    static func gptConfig(_ reader: Reader, flavor: GPTConfig.Flavor) throws -> GPTConfig {
        var config = try explicitGPTConfig(reader, flavor: flavor)
        var defaults = config
        (defaults.mlpHidden, defaults.tieEmbeddings) = (nil, nil)
        if config.mlpHidden == defaults.feedForwardWidth { config.mlpHidden = nil }
        if config.tieEmbeddings == defaults.tiesEmbeddings { config.tieEmbeddings = nil }
        return config
    }

    static func explicitGPTConfig(_ reader: Reader, flavor: GPTConfig.Flavor) throws -> GPTConfig {
        switch flavor {
        case .gpt2:
            try reader.expect("activation_function", in: ["gelu_new", "gelu_pytorch_tanh"],
                              why: "GPT-2 blocks here use the tanh approximation of GELU")
            try reader.expect("scale_attn_weights", equals: true, why: "attention scores are always scaled by 1/√d")
            try reader.expect("scale_attn_by_inverse_layer_idx", equals: false, why: "no per-layer attention scaling")
            try reader.expect("add_cross_attention", equals: false, why: "decoder-only models have no cross-attention")
            let d = try reader.int("n_embd")
            let inner: Int? = reader.has("n_inner") ? try reader.int("n_inner") : nil
            let context = try reader.int(reader.has("n_positions") ? "n_positions" : "n_ctx")
            return GPTConfig(vocabSize: try reader.int("vocab_size"), contextLength: context,
                             layers: try reader.int("n_layer"), dModel: d, heads: try reader.int("n_head"), flavor: .gpt2,
                             dropout: try reader.float("resid_pdrop", default: 0.1),
                             layerNormEps: try reader.float("layer_norm_epsilon", default: 1e-5),
                             mlpHidden: inner, tieEmbeddings: try reader.bool("tie_word_embeddings", default: true))
        case .llama:
            try reader.expect("hidden_act", in: ["silu"], why: "Llama blocks here use SwiGLU with SiLU")
            try reader.expect("attention_bias", equals: false, why: "Llama attention here has no biases")
            try reader.expect("mlp_bias", equals: false, why: "the SwiGLU block here has no biases")
            let d = try reader.int("hidden_size"), heads = try reader.int("num_attention_heads")
            let kvHeads = try reader.int("num_key_value_heads", default: heads)
            guard kvHeads == heads else {
                throw HuggingFaceError("\(reader.url.path): num_key_value_heads \(kvHeads) ≠ num_attention_heads \(heads): grouped-query attention is not supported")
            }
            guard d % heads == 0, try reader.int("head_dim", default: d / heads) == d / heads else {
                throw HuggingFaceError("\(reader.url.path): head_dim must be hidden_size / num_attention_heads = \(d / max(heads, 1))")
            }
            let rope = reader.json["rope_parameters"] as? [String: Any]
            if let type = rope?["rope_type"] as? String, type != "default" {
                throw HuggingFaceError("\(reader.url.path): rope_parameters.rope_type \"\(type)\" is not supported (only \"default\" rotary embedding)")
            }
            if reader.has("rope_scaling") {
                throw HuggingFaceError("\(reader.url.path): \"rope_scaling\" is not supported (only plain rotary embedding)")
            }
            let theta = try (rope?["rope_theta"] as? NSNumber)?.floatValue ?? reader.float("rope_theta", default: 10_000)
            return GPTConfig(vocabSize: try reader.int("vocab_size"), contextLength: try reader.int("max_position_embeddings"),
                             layers: try reader.int("num_hidden_layers"), dModel: d, heads: heads, flavor: .llama,
                             dropout: 0, layerNormEps: try reader.float("rms_norm_eps", default: 1e-6), ropeBase: theta,
                             mlpHidden: try reader.int("intermediate_size"),
                             tieEmbeddings: try reader.bool("tie_word_embeddings", default: false))
        }
    }

    static func bertConfig(_ reader: Reader) throws -> BertConfig {
        try reader.expect("hidden_act", in: ["gelu"], why: "BERT layers here use the exact (erf) GELU")
        try reader.expect("position_embedding_type", in: ["absolute"], why: "only learned absolute positions")
        try reader.expect("is_decoder", equals: false, why: "BERT here is a bidirectional encoder")
        return BertConfig(vocabSize: try reader.int("vocab_size"), hiddenSize: try reader.int("hidden_size"),
                          layers: try reader.int("num_hidden_layers"), heads: try reader.int("num_attention_heads"),
                          intermediateSize: try reader.int("intermediate_size"),
                          maxPositions: try reader.int("max_position_embeddings", default: 512),
                          typeVocabSize: try reader.int("type_vocab_size", default: 2),
                          layerNormEps: try reader.float("layer_norm_eps", default: 1e-12),
                          dropout: try reader.float("hidden_dropout_prob", default: 0.1))
    }
}
