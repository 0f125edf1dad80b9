import Foundation

/// What the model card of an exported directory says: where the model came from and how well it did. The caller
/// (the command line, which knows the run) fills it; HFInterop only writes it.
public struct HuggingFaceModelCard {
    /// The transformers class (GPT2LMHeadModel, LlamaForCausalLM, BertForMaskedLM).
    public var architecture: String
    public var parameterCount: Int
    /// Positions the model holds: the longest input transformers can give it.
    public var maxPositions: Int
    /// Whether it is a causal LM (generation notes and generation_config.json apply).
    public var generates: Bool
    /// The checkpoint it was exported from.
    public var checkpoint: String
    /// The resolved recipe it was trained with, when the run directory has it.
    public var recipeYAML: String?
    /// The training data (the recipe's corpus or sources).
    public var data: String?
    /// Training progress and the last evaluation: ("steps", "800"), ("val loss", "4.7306"), …
    public var metrics: [(String, String)]

    public init(architecture: String, parameterCount: Int, maxPositions: Int, generates: Bool, checkpoint: String,
                recipeYAML: String? = nil, data: String? = nil, metrics: [(String, String)] = []) {
        (self.architecture, self.parameterCount, self.maxPositions, self.generates) = (architecture, parameterCount, maxPositions, generates)
        (self.checkpoint, self.recipeYAML, self.data, self.metrics) = (checkpoint, recipeYAML, data, metrics)
    }

    /// README.md: a YAML header the Hub reads, then what the model is, how it was trained, its numbers, how to load
    /// it and its limits.
    public var markdown: String {
        var lines = ["---", "library_name: transformers", "pipeline_tag: \(generates ? "text-generation" : "fill-mask")",
                     "tags:", "- swift-pretrain", "---", "", "# \(architecture) trained with swift-pretrain", ""]
        lines.append("A \(grouped(parameterCount))-parameter \(architecture) pre-trained on a CPU with "
            + "swift-pretrain and exported from `\(checkpoint)`.")
        lines += ["", "## Intended use", "",
                  "Research and teaching: a small model for studying pre-training, not a general-purpose assistant. "
                  + "It knows only its training data (below); it has not been instruction-tuned or evaluated for safety."]
        if let data { lines += ["", "## Training data", "", data] }
        if !metrics.isEmpty {
            lines += ["", "## Results", "", "| measure | value |", "|---|---|"] + metrics.map { "| \($0.0) | \($0.1) |" }
        }
        lines += ["", "## Use", "", "```python"]
        lines.append(generates ? "from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast"
                               : "from transformers import AutoModelForMaskedLM, PreTrainedTokenizerFast")
        lines.append("model = \(generates ? "AutoModelForCausalLM" : "AutoModelForMaskedLM").from_pretrained(\"DIR\")")
        lines += ["tokenizer = PreTrainedTokenizerFast.from_pretrained(\"DIR\")", "```", "", "## Limitations", ""]
        lines.append("The model holds \(maxPositions) positions; longer inputs fail in transformers (index out of range in the position table).")
        if generates {
            lines.append("`generate` in transformers stops at \(maxPositions) tokens (generation_config.json's max_length), while "
                + "`pretrain generate` slides its window past it; sample at most \(maxPositions) tokens here.")
        }
        if let recipeYAML { lines += ["", "## Recipe", "", "```yaml", recipeYAML.trimmingCharacters(in: .newlines), "```"] }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The files transformers reads beside config.json and the weights: README.md (the card), generation_config.json
/// (causal LMs: max_length is the position table, bos/eos the end-of-text token) and tokenizer_config.json (the
/// special tokens the tokenizer has, so that PreTrainedTokenizerFast knows its pad/mask/eos tokens).
/// `specialTokens`: role → token text, e.g. ["eos_token": "<|endoftext|>", "mask_token": "[MASK]"].
public func writeHuggingFaceExtras(_ card: HuggingFaceModelCard, to directory: URL, specialTokens: [String: String],
                                   endOfTextToken: Int?) throws {
    try Data(card.markdown.utf8).write(to: directory.appendingPathComponent("README.md"), options: .atomic)
    if card.generates {
        var generation: [String: Any] = ["max_length": card.maxPositions, "_from_model_config": false]
        if let endOfTextToken { (generation["bos_token_id"], generation["eos_token_id"]) = (endOfTextToken, endOfTextToken) }
        try HuggingFaceConfig.write(generation, to: directory.appendingPathComponent("generation_config.json"))
    }
    try writeTokenizerConfig(to: directory, maxPositions: card.maxPositions, specialTokens: specialTokens)
}

/// tokenizer_config.json: PreTrainedTokenizerFast over the directory's tokenizer.json, its longest input and the
/// special tokens by role (e.g. ["pad_token": "[PAD]"]), so that AutoTokenizer knows its pad/mask/eos tokens.
public func writeTokenizerConfig(to directory: URL, maxPositions: Int, specialTokens: [String: String]) throws {
    var tokenizer: [String: Any] = ["tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": maxPositions]
    for (role, token) in specialTokens { tokenizer[role] = token }
    try HuggingFaceConfig.write(tokenizer, to: directory.appendingPathComponent("tokenizer_config.json"))
}

/// 1234567 → "1,234,567".
func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    let groups = stride(from: digits.count, to: 0, by: -3).map { end in
        String(digits[digits.index(digits.startIndex, offsetBy: max(0, end - 3))..<digits.index(digits.startIndex, offsetBy: end)])
    }
    return (value < 0 ? "-" : "") + groups.reversed().joined(separator: ",")
}
