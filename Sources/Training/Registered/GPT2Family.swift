import Layers
import Tensors

extension ModelFlavor {
    /// Decoder: learned positions, LayerNorm, GELU, tied embeddings.
    public static let gpt2 = ModelFlavor(rawValue: "gpt2")
}

/// `model.flavor: gpt2` — GPT-2's decoder (GPTModel) on token windows.
public enum GPT2Family: ModelFamily {
    public static let flavor = ModelFlavor.gpt2
    public static let dataForm: any DataForm.Type = TokenWindows.self
    public static let huggingFaceArchitecture: String? = "GPT2LMHeadModel"
    public static let keys: Set<String> = ["vocab_size", "max_positions", "tie_embeddings"]

    public static func makeBackbone(_ model: ModelSection, options: BackboneOptions, generator: inout RandomGenerator) throws -> Module {
        GPTModel(model.gptConfig(flavor: .gpt2), generator: &generator)
    }
}

extension ModelSection {
    /// The decoder configuration of a gpt2 or llama section (vocabulary resolved).
    func gptConfig(flavor: GPTConfig.Flavor) -> GPTConfig {
        GPTConfig(vocabSize: vocabSize ?? 0, contextLength: maxPositions ?? context, layers: layers, dModel: dModel, heads: heads,
                  flavor: flavor, dropout: dropout, layerNormEps: normEps ?? 1e-5, ropeBase: ropeBase, mlpHidden: mlpHidden,
                  tieEmbeddings: tieEmbeddings)
    }
}
