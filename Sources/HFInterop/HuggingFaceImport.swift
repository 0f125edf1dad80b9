import Foundation
import Layers
import Tensors

/// A model read from a Hugging Face directory.
public struct ImportedModel {
    /// A `GPTModel` (gpt2, llama) or a `BertForMaskedLM` (bert).
    public let model: Module
    public let family: HuggingFaceFamily
    /// The directory's tokenizer.json, when it has one.
    public let tokenizer: URL?
    /// Parameters not read from the checkpoint but freshly initialised: the masked-LM head when an encoder-only
    /// BertModel checkpoint was imported with `freshMaskedLMHead`; otherwise empty.
    public let freshlyInitialized: [String]

    public var gpt: GPTModel? { model as? GPTModel }
    public var bert: BertForMaskedLM? { model as? BertForMaskedLM }
}

public struct HuggingFaceImportOptions {
    /// Accept a BERT checkpoint without the masked-LM head (an encoder-only BertModel, as most published BERTs,
    /// e.g. to continue a multilingual BERT's pre-training on a new language) and initialise the head afresh
    /// (`BertForMaskedLM.initializeHead`). Without it such a checkpoint is an error.
    public var freshMaskedLMHead: Bool
    /// Seeds the construction of the model (every parameter is then overwritten, except a fresh head).
    public var seed: UInt64

    public init(freshMaskedLMHead: Bool = false, seed: UInt64 = 0) {
        self.freshMaskedLMHead = freshMaskedLMHead
        self.seed = seed
    }
}

/// Reads a Hugging Face directory (config.json + model.safetensors or sharded safetensors, as
/// `save_pretrained` writes them) strictly: after the family's `CheckpointLayout.sanitize` step, a missing,
/// unused or wrongly shaped tensor is an error that names every offender. Families: GPT2LMHeadModel,
/// LlamaForCausalLM, BertForMaskedLM (and BertModel / BertForPreTraining checkpoints, see
/// `HuggingFaceImportOptions.freshMaskedLMHead`).
public func importHuggingFace(directory: URL, options: HuggingFaceImportOptions = HuggingFaceImportOptions()) throws -> ImportedModel {
    let configURL = directory.appendingPathComponent("config.json")
    let reader = try HuggingFaceConfig.Reader(contentsOf: configURL)
    let family = try reader.family()
    let raw = try CheckpointLayout.readWeights(directory, family: family)
    let source = directory.path
    var generator = RandomGenerator(seed: options.seed)
    let model: Module
    var weights: [String: Tensor]
    var fresh: [String] = []
    switch family {
    case .gpt2, .llama:
        let config = try HuggingFaceConfig.gptConfig(reader, flavor: family == .gpt2 ? .gpt2 : .llama)
        model = GPTModel(config, generator: &generator)
        weights = try CheckpointLayout.sanitize(raw, family: family, tied: config.tiesEmbeddings, source: source)
    case .bert:
        let config = try HuggingFaceConfig.bertConfig(reader)
        let bert = BertForMaskedLM(config, generator: &generator)
        model = bert
        weights = try CheckpointLayout.sanitize(raw, family: .bert, tied: true, source: source)
        if !weights.keys.contains(where: { $0.hasPrefix("cls.") }) {
            guard options.freshMaskedLMHead else {
                throw HuggingFaceError("\(source): an encoder-only BERT checkpoint (no cls.predictions.* masked-LM head); "
                                       + "import it with a freshly initialised head (freshMaskedLMHead / --fresh-mlm-head) to continue MLM pre-training")
            }
            bert.initializeHead(generator: &generator)
            let parameters = bert.stateDict()
            for name in BertForMaskedLM.headParameterNames { weights[name] = parameters[name]! }
            fresh = BertForMaskedLM.headParameterNames
        }
    }
    do {
        try model.load(weights)
    } catch let error as WeightLoadingError {
        throw HuggingFaceError("\(source) (\(family.architecture)): \(error.message)")
    }
    let tokenizer = directory.appendingPathComponent("tokenizer.json")
    return ImportedModel(model: model, family: family,
                         tokenizer: FileManager.default.fileExists(atPath: tokenizer.path) ? tokenizer : nil,
                         freshlyInitialized: fresh)
}
