"""PyTorch reference for w2v-BERT (Chung et al. 2021) over fbank frames with Conformer layers, for Tests/TrainingTests.

Written here from the papers, in float64 (stored as float32), with the mask, the Gumbel noise and the distractors
passed in (no random generator has to match Swift's), on the building blocks of make_audio_objective_fixtures.py:

- Conformer layer (Gulati et al. 2020 §2): x + ½·FFN(x); + MHSA(LN(x)) with rotary positions (RoFormer, Hugging Face
  Llama's rotate-half layout, base 10000) and padded keys skipped; + Conv(x) = W_b·swish(LN(depthwise(GLU(W_a·LN(x)))))
  with padded frames zeroed before the depthwise convolution ("same" padding, odd kernel, no biases in the
  convolution module, LayerNorm where the paper has BatchNorm, as Hugging Face's Wav2Vec2Bert); + ½·FFN(x); LN.
- Frame encoder: 2 stacked frames → Linear → masked positions replaced by the mask embedding → LayerNorm (no
  position table: the Conformer's attention rotates q and k) → 2 Conformer layers.
- w2v-BERT loss: the masked frames of rows with at least two of them (row-major) are selected; the Gumbel quantiser
  (wav2vec 2.0, G groups of V entries, straight-through) reads their stacked frames; the contrastive module's output
  (layer 1) at those frames, projected, is compared by cosine / κ with the projected quantised target and K given
  distractors (those with the target's codes removed), cross-entropy with the target at 0; diversity
  (G·V − perplexity) / (G·V); the masked-prediction module's output (layer 2) → mlm_head → one softmax per group
  against the chosen codes. Loss = contrastive + α·diversity + β·prediction.

Writes Tests/TrainingTests/Fixtures/w2v_bert_objective.safetensors: features, masked (B, N), noise (M, G·V),
negatives (M, K), codes (M·G), states.N, param.<name>, loss, grad.<name>. Needs torch and safetensors.
"""
import math

import torch
import torch.nn.functional as F

from make_audio_objective_fixtures import (REF, add_case, assert_margin, f32, features_batch, gradients, layer_norm,
                                           leaves, lin, meta_of, prefix_mask, random_params, save, stack_frames)


def rotate(t, base=10000.0):
    """(B, H, N, D) → rotary embedding of position n (rotate-half: dimension i pairs with i + D/2)."""
    n, d = t.shape[2], t.shape[3]
    inverse = base ** (-torch.arange(0, d // 2, dtype=REF) * 2 / d)
    angles = torch.arange(n, dtype=REF)[:, None] * inverse[None, :]                # (N, D/2)
    cos, sin = torch.cos(angles), torch.sin(angles)
    first, second = t[..., : d // 2], t[..., d // 2:]
    return torch.cat([first * cos - second * sin, second * cos + first * sin], dim=-1)


def conformer_layer(p, prefix, x, mask, heads, kernel):
    b, n, c = x.shape
    d = c // heads

    def ffn(name, h):
        i = F.silu(lin(p, f"{prefix}.{name}.intermediate_dense", layer_norm(h, p, f"{prefix}.{name}_layer_norm")))
        return lin(p, f"{prefix}.{name}.output_dense", i)

    def split(t):
        return t.view(b, n, heads, d).transpose(1, 2)
    x = x + 0.5 * ffn("ffn1", x)
    a = layer_norm(x, p, f"{prefix}.self_attn_layer_norm")
    q, k, v = (split(lin(p, f"{prefix}.self_attn.self.{name}", a)) for name in ("query", "key", "value"))
    q, k = rotate(q), rotate(k)
    scores = (q @ k.transpose(-1, -2) / math.sqrt(d)).masked_fill((mask == 0)[:, None, None, :], float("-inf"))
    attended = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(b, n, c)
    x = x + lin(p, f"{prefix}.self_attn.output.dense", attended)
    h = F.linear(layer_norm(x, p, f"{prefix}.conv_module.layer_norm"), p[f"{prefix}.conv_module.pointwise_conv1.weight"])
    h = F.glu(h, dim=-1) * mask[:, :, None]
    h = F.conv1d(h.transpose(1, 2), p[f"{prefix}.conv_module.depthwise_conv.weight"][:, None, :], padding=kernel // 2,
                 groups=c).transpose(1, 2)
    h = F.silu(layer_norm(h, p, f"{prefix}.conv_module.depthwise_layer_norm"))
    x = x + F.linear(h, p[f"{prefix}.conv_module.pointwise_conv2.weight"])
    x = x + 0.5 * ffn("ffn2", x)
    return layer_norm(x, p, f"{prefix}.final_layer_norm")


def conformer_shapes(prefix, c, inter, kernel):
    shapes = []
    for name in ("ffn1", "ffn2"):
        shapes += [(f"{prefix}.{name}_layer_norm.weight", (c,)), (f"{prefix}.{name}_layer_norm.bias", (c,)),
                   (f"{prefix}.{name}.intermediate_dense.weight", (inter, c)), (f"{prefix}.{name}.intermediate_dense.bias", (inter,)),
                   (f"{prefix}.{name}.output_dense.weight", (c, inter)), (f"{prefix}.{name}.output_dense.bias", (c,))]
    for name in ("self_attn_layer_norm", "conv_module.layer_norm", "conv_module.depthwise_layer_norm", "final_layer_norm"):
        shapes += [(f"{prefix}.{name}.weight", (c,)), (f"{prefix}.{name}.bias", (c,))]
    for name in ("query", "key", "value"):
        shapes += [(f"{prefix}.self_attn.self.{name}.weight", (c, c)), (f"{prefix}.self_attn.self.{name}.bias", (c,))]
    return shapes + [(f"{prefix}.self_attn.output.dense.weight", (c, c)), (f"{prefix}.self_attn.output.dense.bias", (c,)),
                     (f"{prefix}.conv_module.pointwise_conv1.weight", (2 * c, c)),
                     (f"{prefix}.conv_module.depthwise_conv.weight", (c, kernel)),
                     (f"{prefix}.conv_module.pointwise_conv2.weight", (c, c))]


def make_w2v_bert():
    g = torch.Generator().manual_seed(17)
    B, T, FEAT, K, LENGTHS = 2, 20, 6, 2, [20, 15]
    C, HEADS, INTER, LAYERS, KERNEL, CONTRASTIVE = 8, 2, 16, 2, 3, 1
    GROUPS, ENTRIES, CODEVECTOR, PROJECTION, DISTRACTORS = 2, 5, 8, 6, 3
    TAU, KAPPA, ALPHA, BETA = 0.7, 0.1, 0.1, 0.5
    N = T // K
    # LayerNorm names carry "layer_norm", not "LayerNorm": random_params gives them weights near 1 by this list.
    shapes = [("encoder.input_projection.weight", (C, K * FEAT)), ("encoder.input_projection.bias", (C,)),
              ("encoder.mask_embedding", (C,)), ("encoder.LayerNorm.weight", (C,)), ("encoder.LayerNorm.bias", (C,))]
    for layer in range(LAYERS):
        shapes += conformer_shapes(f"encoder.layers.{layer}", C, INTER, KERNEL)
    shapes += [("quantizer.weight_proj.weight", (GROUPS * ENTRIES, K * FEAT)), ("quantizer.weight_proj.bias", (GROUPS * ENTRIES,)),
               ("quantizer.codevectors", (1, GROUPS * ENTRIES, CODEVECTOR // GROUPS)),
               ("project_hid.weight", (PROJECTION, C)), ("project_hid.bias", (PROJECTION,)),
               ("project_q.weight", (PROJECTION, CODEVECTOR)), ("project_q.bias", (PROJECTION,)),
               ("mlm_head.weight", (GROUPS * ENTRIES, C)), ("mlm_head.bias", (GROUPS * ENTRIES,))]
    params = random_params(shapes, g)
    for name in params:
        if "layer_norm.weight" in name:
            params[name] = 1.0 + 0.1 * torch.randn(C, generator=g)
    x = features_batch(g, B, T, FEAT, LENGTHS).to(REF)
    masked = torch.zeros(B, N, dtype=torch.bool)       # row 0: frames 1–3 and 6–7; row 1 (7 valid frames): 2–4
    masked[0, [1, 2, 3, 6, 7]] = True
    masked[1, [2, 3, 4]] = True
    selected = masked.reshape(-1).nonzero().squeeze(1)                     # every row has ≥ 2 masked frames
    M = selected.numel()
    noise = -torch.log(-torch.log(torch.rand(M, GROUPS * ENTRIES, generator=g))).to(REF)
    starts = [0, int(masked[0].sum())]
    negatives = torch.zeros(M, DISTRACTORS, dtype=torch.int64)
    for m in range(M):
        row_start = starts[1] if m >= starts[1] else 0
        row_end = M if m >= starts[1] else starts[1]
        others = [j for j in range(row_start, row_end) if j != m]
        negatives[m] = torch.tensor([others[int(i)] for i in torch.randint(0, len(others), (DISTRACTORS,), generator=g)])

    p = leaves(params, set())
    stacked = stack_frames(x, K)                                                   # (B, N, K·F)
    h = lin(p, "encoder.input_projection", stacked)
    h = torch.where(masked[:, :, None], p["encoder.mask_embedding"].expand(B, N, C), h)
    mask = prefix_mask([(length + K - 1) // K for length in LENGTHS], N)
    states = [layer_norm(h, p, "encoder.LayerNorm")]
    for layer in range(LAYERS):
        states.append(conformer_layer(p, f"encoder.layers.{layer}", states[-1], mask, HEADS, KERNEL))

    # Gumbel quantiser over the selected stacked frames (straight-through).
    latents = stacked.reshape(B * N, -1)[selected]
    logits = lin(p, "quantizer.weight_proj", latents).view(M * GROUPS, ENTRIES)
    soft = torch.softmax((logits + noise.view(M * GROUPS, ENTRIES)) / TAU, dim=-1)
    assert_margin(soft, "Gumbel choice")
    codes = soft.argmax(-1)
    weights = (F.one_hot(codes, ENTRIES).to(REF) - soft.detach() + soft).view(M, -1)
    quantized = (weights.unsqueeze(-1) * p["quantizer.codevectors"]).view(M, GROUPS, ENTRIES, -1).sum(-2).view(M, -1)
    marginal = torch.softmax(logits.view(M, GROUPS, ENTRIES), -1).mean(0)
    perplexity = torch.exp(-torch.sum(marginal * torch.log(marginal + 1e-7), -1)).sum()
    diversity = (GROUPS * ENTRIES - perplexity) / (GROUPS * ENTRIES)

    context = lin(p, "project_hid", states[CONTRASTIVE].reshape(B * N, C)[selected])
    targets = lin(p, "project_q", quantized)
    candidates = torch.cat([targets.unsqueeze(1), targets[negatives]], 1)
    sims = F.cosine_similarity(context.unsqueeze(1), candidates, dim=-1) / KAPPA
    same = (codes.view(M, GROUPS)[negatives] == codes.view(M, GROUPS).unsqueeze(1)).all(-1)
    sims = torch.cat([sims[:, :1], sims[:, 1:].masked_fill(same, -1e9)], 1)
    contrastive = F.cross_entropy(sims, torch.zeros(M, dtype=torch.long))
    prediction_logits = lin(p, "mlm_head", states[-1].reshape(B * N, C)[selected]).view(M * GROUPS, ENTRIES)
    prediction = F.cross_entropy(prediction_logits, codes)
    loss = contrastive + ALPHA * diversity + BETA * prediction

    tensors = {"features": f32(x), "masked": masked.to(torch.int64), "noise": f32(noise), "negatives": negatives,
               "codes": codes.to(torch.int64), "contrastive": f32(contrastive.reshape(1)),
               "prediction": f32(prediction.reshape(1))}
    for layer, s in enumerate(states):
        tensors[f"states.{layer}"] = f32(s)
    for k, v in params.items():
        tensors[f"param.{k}"] = f32(v)
    add_case(tensors, "w2v_bert", loss, gradients(loss, p, set()))
    save("w2v_bert_objective.safetensors", tensors,
         meta_of(frames=T, feature_dim=FEAT, frame_stack=K, lengths=LENGTHS, hidden_size=C, heads=HEADS,
                 intermediate_size=INTER, layers=LAYERS, kernel=KERNEL, contrastive_layers=CONTRASTIVE, groups=GROUPS,
                 entries=ENTRIES, codevector_dim=CODEVECTOR, proj_dim=PROJECTION, distractors=DISTRACTORS,
                 temperature=TAU, kappa=KAPPA, diversity_weight=ALPHA, mlm_weight=BETA, removed=int(same.sum())))
    print(f"  w2v-BERT: contrastive {contrastive.item():.6f}, diversity {diversity.item():.6f}, prediction "
          f"{prediction.item():.6f} over {M} masked frames ({int(same.sum())} distractors removed)")


if __name__ == "__main__":
    make_w2v_bert()
