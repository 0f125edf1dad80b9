import Layers
import Tensors

extension ModelFlavor {
    /// Decoder: rotary positions, RMSNorm, SwiGLU, no biases.
    public static let llama = ModelFlavor(rawValue: "llama")
}

/// `model.flavor: llama` — a Llama decoder (GPTModel with the llama flavour) on token windows.
public enum LlamaFamily: ModelFamily {
    public static let flavor = ModelFlavor.llama
    public static let dataForm: any DataForm.Type = TokenWindows.self
    public static let huggingFaceArchitecture: String? = "LlamaForCausalLM"
    public static let keys: Set<String> = ["vocab_size", "max_positions", "tie_embeddings", "rope_base"]

    public static func makeBackbone(_ model: ModelSection, options: BackboneOptions, generator: inout RandomGenerator) throws -> Module {
        GPTModel(model.gptConfig(flavor: .llama), generator: &generator)
    }
}
