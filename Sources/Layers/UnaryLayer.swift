import Tensors

/// A module with one tensor in and one out, so models can hold layers of different kinds in one list
/// (GPT-2 or Llama blocks, LayerNorm or RMSNorm).
public protocol UnaryLayer: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

extension Linear: UnaryLayer {}
extension LayerNorm: UnaryLayer {}
extension RMSNorm: UnaryLayer {}
extension Dropout: UnaryLayer {}
extension MLP: UnaryLayer {}
extension SwiGLU: UnaryLayer {}
extension GPT2Block: UnaryLayer {}
extension LlamaBlock: UnaryLayer {}
