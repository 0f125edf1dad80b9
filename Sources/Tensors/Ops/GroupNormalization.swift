/// Group norm (Wu & He 2018) as torch.nn.functional.group_norm: the channels of each sample are split into
/// `groups` groups, each normalised over its channels and every position with its own mean and biased variance,
/// then scaled and shifted per channel. x: (B, C, ...) → same shape; weight, bias: (C), nil means 1 and 0.
/// groups = C normalises each channel over time alone: the first layer of wav2vec 2.0's feature encoder
/// (Baevski et al. 2020; Hugging Face feat_extract_norm = "group").
///
/// A group's values are contiguous in (B, C, ...) layout, so this is layer norm over rows of (C/groups)·positions
/// values followed by the per-channel affine map; the backward passes are those of the two ops.
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
    precondition(x.rank >= 2, "groupNorm: input must be (B, C, ...), got \(x.shape)")
    let (batch, channels) = (x.size(0), x.size(1))
    precondition(groups >= 1 && channels % groups == 0, "groupNorm: \(channels) channels not divisible by \(groups) groups")
    for parameter in [weight, bias].compactMap({ $0 }) {
        precondition(parameter.shape == [channels], "groupNorm: parameter \(parameter.shape) does not match \(channels) channels")
    }
    let rows = x.reshaped([batch * groups, x.count / max(1, batch * groups)])
    var y = layerNorm(rows, weight: nil, bias: nil, eps: eps).reshaped(x.shape)
    let perChannel = [channels] + [Int](repeating: 1, count: x.rank - 2)                     // (C, 1, ...)
    if let weight { y = y * weight.reshaped(perChannel) }
    if let bias { y = y + bias.reshaped(perChannel) }
    return y
}
