import Layers
import Tensors

/// `source` (a gpt2, llama or bert backbone built from `section`) grown as `options` say: the grown model section
/// and the model built for it, every parameter filled from the source's (bert2BERT; see `WidthExpansion`,
/// `DepthPlan`).
///
/// fpi computes the same function as the source when every width grows by an integer multiple (each unit copied k
/// times): the norms then see the same statistics. Otherwise a norm over units copied unequally often sees another
/// mean and variance, and the outputs are only close. aki and stack are not function-preserving.
public func growModel(_ source: Module, section: ModelSection, options: GrowthOptions) throws -> (model: Module, section: ModelSection) {
    let grown = try section.grown(options)
    var generator = RandomGenerator(seed: options.seed)
    let target = try grown.family.makeBackbone(grown, options: BackboneOptions(), generator: &generator)
    let expansion = WidthExpansion(from: section, to: grown, seed: options.seed)
    let depth = DepthPlan(oldLayers: section.layers, method: options.method)
    switch (source, target) {
    case let (source as GPTModel, target as GPTModel): expansion.decoder(target, from: source, depth: depth)
    case let (source as BertForMaskedLM, target as BertForMaskedLM): expansion.encoder(target, from: source, depth: depth)
    default: throw GrowthError("model.flavor \(section.flavor.rawValue): no growth for a \(type(of: source))")
    }
    let unfilled = expansion.unfilled(in: target)
    precondition(unfilled.isEmpty, "growth left parameters at their fresh initialisation: \(unfilled)")
    target.eval()
    return (target, grown)
}

extension WidthExpansion {
    /// GPT-2 or Llama. A tied output reads the token embedding's copied columns, so the final norm's output is
    /// divided by the copy counts to keep the logits (Σ over copies would count each old unit k times).
    func decoder(_ target: GPTModel, from source: GPTModel, depth: DepthPlan) {
        embedding(target.tokenEmbedding, from: source.tokenEmbedding)
        if let positions = target.positionEmbedding { embedding(positions, from: source.positionEmbedding!) }
        for (l, block) in target.blocks.enumerated() {
            self.block(block, from: source.blocks[depth.source(of: l)], knowledge: source.blocks[depth.knowledge(of: l)])
            if depth.isIdentity(l) { zeroResidualProjections(block) }
        }
        norm(target.finalNorm, from: source.finalNorm, knowledge: source.finalNorm, dividedByCopies: target.config.tiesEmbeddings)
        if let head = target.lmHead {
            linear(head, from: source.lmHead!, knowledge: source.lmHead!, rows: .identity(head.outFeatures), columns: residual)
        }
    }

    /// BERT with its masked-LM head, whose decoder is tied to the word embeddings: the head's LayerNorm is divided
    /// by the copy counts, as a tied decoder's final norm.
    func encoder(_ target: BertForMaskedLM, from source: BertForMaskedLM, depth: DepthPlan) {
        let (new, old) = (target.bert.embeddings, source.bert.embeddings)
        embedding(new.word, from: old.word)
        embedding(new.position, from: old.position)
        embedding(new.tokenType, from: old.tokenType)
        norm(new.norm, from: old.norm, knowledge: old.norm)
        for (l, layer) in target.bert.layers.enumerated() {
            block(layer, from: source.bert.layers[depth.source(of: l)], knowledge: source.bert.layers[depth.knowledge(of: l)])
            precondition(!depth.isIdentity(l), "a post-LN layer is not the identity with zeroed projections")
        }
        linear(target.transform, from: source.transform, knowledge: source.transform, rows: residual, columns: residual)
        norm(target.transformNorm, from: source.transformNorm, knowledge: source.transformNorm, dividedByCopies: true)
        vector(target.outputBias, from: source.outputBias, knowledge: source.outputBias, units: .identity(target.outputBias.count))
    }

    /// One Transformer block: its norms, attention and feed-forward layers.
    func block(_ target: Module, from source: Module, knowledge: Module) {
        switch (target, source, knowledge) {
        case let (target as GPT2Block, source as GPT2Block, knowledge as GPT2Block):
            norm(target.attentionNorm, from: source.attentionNorm, knowledge: knowledge.attentionNorm)
            attention(target.attention, from: source.attention, knowledge: knowledge.attention)
            norm(target.mlpNorm, from: source.mlpNorm, knowledge: knowledge.mlpNorm)
            linear(target.mlp.up, from: source.mlp.up, knowledge: knowledge.mlp.up, rows: mlp, columns: residual)
            linear(target.mlp.down, from: source.mlp.down, knowledge: knowledge.mlp.down, rows: residual, columns: mlp)
        case let (target as LlamaBlock, source as LlamaBlock, knowledge as LlamaBlock):
            norm(target.attentionNorm, from: source.attentionNorm, knowledge: knowledge.attentionNorm)
            attention(target.attention, from: source.attention, knowledge: knowledge.attention)
            norm(target.mlpNorm, from: source.mlpNorm, knowledge: knowledge.mlpNorm)
            linear(target.mlp.gate, from: source.mlp.gate, knowledge: knowledge.mlp.gate, rows: mlp, columns: residual)
            linear(target.mlp.up, from: source.mlp.up, knowledge: knowledge.mlp.up, rows: mlp, columns: residual)
            linear(target.mlp.down, from: source.mlp.down, knowledge: knowledge.mlp.down, rows: residual, columns: mlp)
        case let (target as BertLayer, source as BertLayer, knowledge as BertLayer):
            attention(target.attention, from: source.attention, knowledge: knowledge.attention)
            norm(target.attentionNorm, from: source.attentionNorm, knowledge: knowledge.attentionNorm)
            linear(target.intermediate, from: source.intermediate, knowledge: knowledge.intermediate, rows: mlp, columns: residual)
            linear(target.output, from: source.output, knowledge: knowledge.output, rows: residual, columns: mlp)
            norm(target.outputNorm, from: source.outputNorm, knowledge: knowledge.outputNorm)
        default:
            preconditionFailure("blocks \(type(of: source)) → \(type(of: target)) differ in kind")
        }
    }

    /// The attention output and MLP down projections (and biases) of a pre-LN block set to zero: the block is x ↦ x.
    func zeroResidualProjections(_ block: Module) {
        guard let block = block as? ResidualBlock else { preconditionFailure("\(type(of: block)) has no residual projections") }
        for projection in block.residualProjections {
            for tensor in [projection.weight] + (projection.bias.map { [$0] } ?? []) {
                tensor.data.update(repeating: 0, count: tensor.count)
            }
        }
    }
}
