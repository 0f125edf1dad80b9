import Tensors

/// A sub-structure of a deep model for bert2BERT's two-stage pre-training (Chen et al. 2022, "bert2BERT", §3.4):
/// the bottom `depth` blocks and the model's own head, of which only the top blocks `firstTrained..<depth` (and the
/// head) learn. The embeddings and the blocks below `firstTrained` run forward only, without recording, so backward
/// stops at the first trained block and their parameters get no gradient (AdamW leaves a parameter without one
/// untouched); the blocks above `depth` are skipped.
public struct SubModel: Equatable, Sendable {
    /// Blocks run, from the bottom.
    public let depth: Int
    /// The first block that records for backward.
    public let firstTrained: Int

    public init(depth: Int, firstTrained: Int) {
        precondition(depth >= 1 && firstTrained >= 0 && firstTrained < depth,
                     "a sub-model runs ≥ 1 block and trains ≥ 1 of them (depth \(depth), first trained \(firstTrained))")
        self.depth = depth
        self.firstTrained = firstTrained
    }

    /// Runs `embed()` and then `block(i, x)` for each block i in order, as the whole model (`subModel` nil) or as the
    /// sub-model; `layerOutputs`, when non-nil, receives the embeddings' output and each run block's output.
    public static func run(_ subModel: SubModel?, blocks: Int, layerOutputs: inout [Tensor]?,
                           embed: () -> Tensor, block: (Int, Tensor) -> Tensor) -> Tensor {
        guard let subModel else {
            var x = embed()
            layerOutputs?.append(x)
            for index in 0..<blocks {
                x = block(index, x)
                layerOutputs?.append(x)
            }
            return x
        }
        precondition(subModel.depth <= blocks, "a sub-model of \(subModel.depth) blocks in a model of \(blocks)")
        var x = noGrad { () -> Tensor in
            var h = embed()
            layerOutputs?.append(h)
            for index in 0..<subModel.firstTrained {
                h = block(index, h)
                layerOutputs?.append(h)
            }
            return h
        }
        for index in subModel.firstTrained..<subModel.depth {
            x = block(index, x)
            layerOutputs?.append(x)
        }
        return x
    }
}

/// A model whose forward can run as a `SubModel`: GPT-2/Llama decoders and BERT encoders.
public protocol SubModelRunnable: Module {
    /// Transformer blocks of the whole model.
    var blockCount: Int { get }
    /// nil: the whole model runs (the default, and always in evaluation).
    var subModel: SubModel? { get set }
}
