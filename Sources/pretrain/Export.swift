import ArgumentParser
import Foundation
import HFInterop
import Layers
import TextData
import Training

/// `pretrain export CKPT --format hf --out DIR`: a checkpoint as a Hugging Face directory (config.json,
/// model.safetensors, tokenizer.json, and README.md with the model card, tokenizer_config.json, generation_config.json) that transformers loads as GPT2LMHeadModel, LlamaForCausalLM or
/// BertForMaskedLM.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint as a Hugging Face model directory (GPT2LMHeadModel, LlamaForCausalLM, BertForMaskedLM).",
        discussion: """
            Load the result with transformers: AutoModelForCausalLM.from_pretrained(DIR) (gpt2, llama) or \
            AutoModelForMaskedLM.from_pretrained(DIR) (bert); the tokenizer with \
            PreTrainedTokenizerFast(tokenizer_file="DIR/tokenizer.json").
            """)

    @Argument(help: "A checkpoint directory, or a run directory (its newest complete checkpoint).")
    var checkpoint: String

    @Option(help: "Output format; only hf (Hugging Face transformers) for now.")
    var format: String = "hf"

    @Option(help: "Directory to write (created if needed; files in it are replaced).")
    var out: String

    @Option(help: "tokenizer.json to include instead of the checkpoint's (or its run directory's).")
    var tokenizer: String?

    func validate() throws {
        guard format == "hf" else { throw ValidationError("--format must be hf, got '\(format)'") }
    }

    func run() throws {
        let loaded = try loadCheckpoint(URL(fileURLWithPath: checkpoint))
        let tokenizerURL = try? loaded.tokenizerFile(override: tokenizer)
        if tokenizer != nil && tokenizerURL == nil { throw ValidationError("cannot read --tokenizer \(tokenizer!)") }
        let textTokenizer = try tokenizerURL.map(loadTokenizer)
        let directory = URL(fileURLWithPath: out)
        guard let architecture = try loaded.config.model.family.huggingFaceArchitecture else {
            throw ValidationError("\(loaded.directory.path): model.flavor \(loaded.config.model.flavor) has no Hugging Face architecture to export to")
        }
        if let decoder = loaded.decoder {
            try exportHuggingFace(decoder, to: directory, tokenizer: tokenizerURL,
                                  endOfTextToken: textTokenizer?.specialTokenID("<|endoftext|>"))
        } else if let encoder = loaded.encoder {
            try exportHuggingFace(encoder, to: directory, tokenizer: tokenizerURL,
                                  padToken: textTokenizer?.specialTokenID("[PAD]"))
        } else {
            throw ValidationError("\(loaded.directory.path): no exportable model")
        }
        let provenance = loaded.provenance
        let card = HuggingFaceModelCard(
            architecture: architecture, parameterCount: loaded.model.parameterCount,
            maxPositions: loaded.config.model.maxPositions ?? loaded.config.model.context, generates: loaded.decoder != nil,
            checkpoint: loaded.directory.path, recipeYAML: provenance.recipeYAML, data: provenance.data, metrics: provenance.metrics)
        let roles = ["bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "[UNK]", "sep_token": "[SEP]",
                     "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"]
        try writeHuggingFaceExtras(card, to: directory,
                                   specialTokens: roles.filter { textTokenizer?.specialTokenID($0.value) != nil },
                                   endOfTextToken: textTokenizer?.specialTokenID("<|endoftext|>"))
        print("wrote \(directory.path): \(architecture), \(loaded.model.parameterCount) parameters"
              + (tokenizerURL == nil ? " (no tokenizer.json found: pass --tokenizer to include one)" : " + tokenizer.json"))
    }
}
