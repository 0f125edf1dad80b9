"""BEATs acoustic tokenizer fixtures for Tests/TrainingTests (BEATsTokenizerTests.swift).

Writes Tests/TrainingTests/Fixtures/beats_tokenizer.safetensors: a tiny tokenizer (patch encoder of one BERT
layer, quantize_layer Linear → tanh → Linear, an L2-normalised codebook) with its decoder (Linear + positions +
one BERT layer + Linear), random parameters under the Swift model's names (`param.<name>`), a batch of patches
with one padded row, and teacher features. The reference, in float64 (stored as float32):
- the unit code vectors z, the chosen codes (argmax cosine) and the quantised vectors q,
- loss = mean_valid ‖sg(q) − z‖² − mean_valid cos(decoder(z + sg(q − z)), teacher), its two terms,
- the gradients of the loss w.r.t. the patches and every trained parameter (`grad.patches`, `grad.param.<name>`),
- the teacher features instance-normalised per clip and channel over the valid patches (data2vec's targets),
- one EMA step of the codebook and cluster sizes from the valid patches' z (BEiT v2's NormEMAVectorQuantizer,
  decay in metadata; cluster sizes start at 10, so no code is restarted).
Needs torch and safetensors.
"""
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "Tests/TrainingTests/Fixtures/beats_tokenizer.safetensors"
torch.manual_seed(7)
REF = torch.float64

B, T, FEAT, PF, PT = 2, 8, 8, 4, 2
ROWS, COLS = FEAT // PF, T // PT
N = ROWS * COLS
LENGTHS = [8, 5]
C, HEADS, INTER, LAYERS = 8, 2, 16, 1
CODE_DIM, CODES = 4, 6
DEC_C, DEC_HEADS, DEC_INTER, DEC_LAYERS, TARGET = 8, 2, 16, 1, 6
EPS_LN = 1e-12
DECAY = 0.9


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def lin(p, prefix, x):
    return F.linear(x, p[prefix + ".weight"], p[prefix + ".bias"])


def bert_layer(p, prefix, x, mask, heads):
    """HF BertLayer, post-LN; mask (B, N): 1 = attend, 0 = padded key."""
    Bn, Tn, Cn = x.shape
    D = Cn // heads
    def split(t):
        return t.view(Bn, Tn, heads, D).transpose(1, 2)
    q, k, v = (split(lin(p, f"{prefix}.attention.self.{n}", x)) for n in ("query", "key", "value"))
    scores = q @ k.transpose(-1, -2) / math.sqrt(D)
    scores = scores.masked_fill((mask == 0)[:, None, None, :], float("-inf"))
    a = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(Bn, Tn, Cn)
    h = layer_norm(lin(p, f"{prefix}.attention.output.dense", a) + x,
                   p[f"{prefix}.attention.output.LayerNorm.weight"], p[f"{prefix}.attention.output.LayerNorm.bias"], EPS_LN)
    i = F.gelu(lin(p, f"{prefix}.intermediate.dense", h))
    return layer_norm(lin(p, f"{prefix}.output.dense", i) + h,
                      p[f"{prefix}.output.LayerNorm.weight"], p[f"{prefix}.output.LayerNorm.bias"], EPS_LN)


def bert_shapes(prefix, c, inter):
    shapes = []
    for n in ("query", "key", "value"):
        shapes += [(f"{prefix}.attention.self.{n}.weight", (c, c)), (f"{prefix}.attention.self.{n}.bias", (c,))]
    shapes += [(f"{prefix}.attention.output.dense.weight", (c, c)), (f"{prefix}.attention.output.dense.bias", (c,)),
               (f"{prefix}.attention.output.LayerNorm.weight", (c,)), (f"{prefix}.attention.output.LayerNorm.bias", (c,)),
               (f"{prefix}.intermediate.dense.weight", (inter, c)), (f"{prefix}.intermediate.dense.bias", (inter,)),
               (f"{prefix}.output.dense.weight", (c, inter)), (f"{prefix}.output.dense.bias", (c,)),
               (f"{prefix}.output.LayerNorm.weight", (c,)), (f"{prefix}.output.LayerNorm.bias", (c,))]
    return shapes


def l2(x):
    return x / torch.sqrt((x * x).sum(-1, keepdim=True) + 1e-12)


shapes = [("tokenizer.encoder.patch_embedding.weight", (C, PF * PT)), ("tokenizer.encoder.patch_embedding.bias", (C,)),
          ("tokenizer.encoder.position_embeddings", (N, C)), ("tokenizer.encoder.mask_embedding", (C,)),
          ("tokenizer.encoder.LayerNorm.weight", (C,)), ("tokenizer.encoder.LayerNorm.bias", (C,))]
for l in range(LAYERS):
    shapes += bert_shapes(f"tokenizer.encoder.layers.{l}", C, INTER)
shapes += [("tokenizer.quantize_layer.0.weight", (C, C)), ("tokenizer.quantize_layer.0.bias", (C,)),
           ("tokenizer.quantize_layer.2.weight", (CODE_DIM, C)), ("tokenizer.quantize_layer.2.bias", (CODE_DIM,)),
           ("tokenizer.quantize.embedding.weight", (CODES, CODE_DIM)),
           ("decoder.input.weight", (DEC_C, CODE_DIM)), ("decoder.input.bias", (DEC_C,)),
           ("decoder.position_embeddings", (N, DEC_C))]
for l in range(DEC_LAYERS):
    shapes += bert_shapes(f"decoder.layers.{l}", DEC_C, DEC_INTER)
shapes += [("decoder.output.weight", (TARGET, DEC_C)), ("decoder.output.bias", (TARGET,))]

params = {}
for name, shape in shapes:
    if "LayerNorm" in name:
        params[name] = (1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(*shape)
    elif name.endswith("bias"):
        params[name] = 0.1 * torch.randn(*shape)
    elif "position_embeddings" in name or "mask_embedding" in name:
        params[name] = 0.5 * torch.randn(*shape)
    else:
        params[name] = torch.randn(*shape) / math.sqrt(shape[-1])
params["tokenizer.quantize.embedding.weight"] = l2(params["tokenizer.quantize.embedding.weight"])
params["tokenizer.quantize.embedding.initted"] = torch.ones(1)   # no k-means initialisation: the codebook is given
# Cluster sizes far above the restart threshold (1): one step restarts no code.
params["tokenizer.quantize.cluster_size"] = torch.full((CODES,), 10.0)
FROZEN = {"tokenizer.encoder.mask_embedding", "tokenizer.quantize.embedding.weight", "tokenizer.quantize.embedding.initted",
          "tokenizer.quantize.cluster_size"}

patches = torch.randn(B, N, PF * PT)
targets = torch.randn(B, N, TARGET)
columns = [min(COLS, (n + PT - 1) // PT) for n in LENGTHS]
mask = torch.zeros(B, N, dtype=torch.int64)
for b, c in enumerate(columns):
    mask[b, :c * ROWS] = 1


def forward(p, x):
    h = layer_norm(lin(p, "tokenizer.encoder.patch_embedding", x) + p["tokenizer.encoder.position_embeddings"][:N],
                   p["tokenizer.encoder.LayerNorm.weight"], p["tokenizer.encoder.LayerNorm.bias"], EPS_LN)
    for l in range(LAYERS):
        h = bert_layer(p, f"tokenizer.encoder.layers.{l}", h, mask, HEADS)
    z = l2(lin(p, "tokenizer.quantize_layer.2", torch.tanh(lin(p, "tokenizer.quantize_layer.0", h))))
    z = z.reshape(B * N, CODE_DIM)
    codebook = p["tokenizer.quantize.embedding.weight"]
    similarity = z.detach() @ codebook.t()
    top = similarity.topk(2, dim=1).values
    assert (top[:, 0] - top[:, 1]).min() > 1e-3, "a near tie between codes; change the seed"
    codes = similarity.argmax(1)
    q = codebook[codes].detach()
    st = z + (q - z).detach()
    d = lin(p, "decoder.input", st.reshape(B, N, CODE_DIM)) + p["decoder.position_embeddings"][:N]
    for l in range(DEC_LAYERS):
        d = bert_layer(p, f"decoder.layers.{l}", d, mask, DEC_HEADS)
    d = lin(p, "decoder.output", d)
    cos = (l2(d) * l2(targets.to(REF))).sum(-1)
    weights = mask.to(REF) / mask.sum()
    cosine = (cos * weights).sum()
    commitment = (((z - q) ** 2).sum(-1).reshape(B, N) * weights).sum()
    return commitment - cosine, cosine, commitment, z, codes, q


leaves = {k: v.to(REF).requires_grad_(k not in FROZEN) for k, v in params.items()}
x = patches.to(REF).requires_grad_(True)
loss, cosine, commitment, z, codes, q = forward(leaves, x)
trained = [k for k in params if k not in FROZEN]
grads = torch.autograd.grad(loss, [x] + [leaves[k] for k in trained])

# One EMA step from the valid patches (BEiT v2 norm_ema_quantizer.py).
valid = mask.reshape(-1).bool()
zv, cv = z.detach()[valid], codes[valid]
onehot = F.one_hot(cv, CODES).to(REF)
bins = onehot.sum(0)
zero = bins == 0
embed_sum = zv.t() @ onehot                                          # (d, K)
embed_normalized = l2((embed_sum / bins.masked_fill(zero, 1.0)).t())
old = params["tokenizer.quantize.embedding.weight"].to(REF)
embed_normalized = torch.where(zero[:, None], old, embed_normalized)
ema = l2(DECAY * old + (1 - DECAY) * embed_normalized)
cluster_size = DECAY * params["tokenizer.quantize.cluster_size"].to(REF) + (1 - DECAY) * bins

# data2vec's instance-normalised targets over each clip's valid patches (biased variance, eps 1e-5), padding 0.
normalized = torch.zeros(B, N, TARGET, dtype=REF)
for b in range(B):
    valid_rows = targets[b, mask[b] == 1].to(REF)
    normalized[b, mask[b] == 1] = F.instance_norm(valid_rows.t()[None], eps=1e-5)[0].t()

f32 = lambda t: t.detach().to(torch.float32).contiguous()
tensors = {"in.patches": patches, "const.targets": targets, "out.vectors": f32(z), "out.quantized": f32(q),
           "idx.codes": codes.to(torch.int64), "out.loss": f32(loss.reshape(1)), "out.cosine": f32(cosine.reshape(1)),
           "out.commitment": f32(commitment.reshape(1)), "grad.patches": f32(grads[0]), "ema.codebook": f32(ema),
           "ema.cluster_size": f32(cluster_size),
           "out.normalized_targets": f32(normalized)}
for k, v in params.items():
    tensors[f"param.{k}"] = f32(v)
for k, g in zip(trained, grads[1:]):
    tensors[f"grad.param.{k}"] = f32(g)
meta = {"batch": str(B), "frames": str(T), "feature_dim": str(FEAT), "patch_frequency": str(PF), "patch_time": str(PT),
        "lengths": ",".join(map(str, LENGTHS)), "hidden_size": str(C), "heads": str(HEADS), "intermediate_size": str(INTER),
        "layers": str(LAYERS), "code_dim": str(CODE_DIM), "codebook_size": str(CODES), "decoder_hidden": str(DEC_C),
        "decoder_heads": str(DEC_HEADS), "decoder_intermediate": str(DEC_INTER), "decoder_layers": str(DEC_LAYERS),
        "target_dim": str(TARGET), "layer_norm_eps": str(EPS_LN), "ema_decay": str(DECAY), "used_codes": str(int((~zero).sum()))}
OUT.parent.mkdir(parents=True, exist_ok=True)
save_file(tensors, str(OUT), metadata=meta)
print(f"wrote {OUT}: loss {loss.item():.6f} (cosine {cosine.item():.4f}, commitment {commitment.item():.4f}), "
      f"codes {codes.tolist()}, {int((~zero).sum())} codes used")
