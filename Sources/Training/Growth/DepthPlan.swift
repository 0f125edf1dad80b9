/// Which old layer each layer of the grown model is made from (bert2BERT §3.3, StackBERT): the old layers in
/// place, then copies stacked from the bottom (added layer l copies layer l mod L).
struct DepthPlan {
    let oldLayers: Int
    let method: GrowthMethod

    /// The old layer whose weights layer `l` copies.
    func source(of l: Int) -> Int { l % oldLayers }

    /// The old layer whose weights fill the added units of layer `l`: the layer above its source for AKI (the top
    /// layer its own), the source itself otherwise.
    func knowledge(of l: Int) -> Int { method == .aki ? min(source(of: l) + 1, oldLayers - 1) : source(of: l) }

    /// fpi's added layers start as the identity: a pre-LN block x + attn(ln(x)) + mlp(ln(·)) whose two output
    /// projections are zero returns x, while its other weights (copies) give the projections a gradient.
    func isIdentity(_ l: Int) -> Bool { method == .fpi && l >= oldLayers }
}
