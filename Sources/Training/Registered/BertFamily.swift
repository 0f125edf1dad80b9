import Layers
import Tensors

extension ModelFlavor {
    /// Encoder with a masked-LM head (BertForMaskedLM).
    public static let bert = ModelFlavor(rawValue: "bert")
}

/// `model.flavor: bert` — BERT's encoder with its masked-LM head on token windows.
public enum BertFamily: ModelFamily {
    public static let flavor = ModelFlavor.bert
    public static let dataForm: any DataForm.Type = TokenWindows.self
    public static let huggingFaceArchitecture: String? = "BertForMaskedLM"
    public static let keys: Set<String> = ["vocab_size", "max_positions"]

    public static func makeBackbone(_ model: ModelSection, options: BackboneOptions, generator: inout RandomGenerator) throws -> Module {
        BertForMaskedLM(BertConfig(vocabSize: model.vocabSize ?? 0, hiddenSize: model.dModel, layers: model.layers, heads: model.heads,
                                   intermediateSize: model.mlpHidden, maxPositions: model.maxPositions ?? model.context,
                                   layerNormEps: model.normEps ?? 1e-12, dropout: model.dropout), generator: &generator)
    }
}
