"""PyTorch references for the audio objectives and the speech pipeline, for Tests/TrainingTests.

Each objective's loss is written here from its paper, for a fixed small batch with the masks and alterations
passed in (no random generator has to match Swift's), in float64 (stored as float32): the loss and its gradient
w.r.t. every trained parameter. Swift loads the same parameters under its own names (`param.<name>`, loaded
strictly), the same batch and the same masks, and compares (AudioObjectiveFixtureTests.swift,
SpeechPipelineFixtureTests.swift).

- tera_objective.safetensors: TERA (Liu, Li & Lee 2021 §3): time alteration (spans zeroed, replaced by another
  segment of the utterance, or kept), frequency alteration (one band zeroed in every frame), magnitude alteration
  (Gaussian noise over the utterance); frames of stack 2; L1 between the reconstruction and the original frames on
  the altered positions only.
- ssast_objective.safetensors: SSAST (Gong et al. 2022 §2.2, eq. 1–3): patches replaced by the mask embedding,
  InfoNCE of the discriminative head's prediction c_i against the masked patches x_j (softmax over j of c_i·x_j:
  the clip's masked patches, the batch's, or both summed), plus 10 × MSE of the generative head's reconstruction.
- masked_prediction_objective.safetensors: masked label prediction, cross-entropy at the masked positions only, of
  - BEST-RQ (Chiu et al. 2022 §2.1): label = argmin_k ‖ℓ2(c_k) − ℓ2(A x)‖ of each position's stacked frames,
  - HuBERT (Hsu et al. 2021 §II): label = the nearest k-means centroid of each position's first frame's MFCCs
    (DCT-II of the log-mel frame, Kaldi's lifter 22), frames subsampled to the positions; α = 1 (masked only),
  - BEATs iteration 1 (Chen et al. 2022 §2.2): the random-projection quantiser of each patch,
  - BEATs later iterations (§2.2–2.3): the code of highest cosine of a tokenizer's ℓ2-normalised projection of
    its Transformer's output for the unmasked patches.
- speech_pipeline.safetensors: Tests/AudioDataTests/Fixtures/audio/chirp16k_int16.wav → torchaudio's Kaldi fbank
  (80 bins) → per-bin (x − mean)/std → 2 stacked frames → a frame encoder's every layer; and the probes on those
  states: SUPERB's softmax-weighted layer sum, the time mean and a linear head with its cross-entropy and
  gradients, and the frame-level head's logits.

Where the Swift recipe documents a choice the paper leaves open or does otherwise, the reference follows the
recipe and says so beside the code. Needs torch, torchaudio (its Kaldi module only: the fixtures were made with
torch 2.15 and torchaudio 2.11.1 installed with `pip install --no-deps`, whose pure-Python kaldi.py runs on it; the
compiled extension is stubbed when it cannot load), scipy and safetensors. Deterministic values: every draw comes from
seeded torch generators (the order of the metadata in a file's header may differ between runs).
"""
import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import scipy.fft
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from scipy.io import wavfile

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/TrainingTests/Fixtures"
REF = torch.float64
EPS_LN = 1e-12


from torchaudio_import import import_kaldi  # noqa: E402


# ---------------------------------------------------------------------------------------------------------------
# Building blocks (float64)

def layer_norm(x, p, prefix):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + EPS_LN) * p[prefix + ".weight"] + p[prefix + ".bias"]


def lin(p, prefix, x):
    return F.linear(x, p[prefix + ".weight"], p[prefix + ".bias"])


def bert_layer(p, prefix, x, mask, heads):
    """Hugging Face's BertLayer (post-LN, exact GELU); mask (B, N): 1 = attend, 0 = padded key."""
    b, n, c = x.shape
    d = c // heads

    def split(t):
        return t.view(b, n, heads, d).transpose(1, 2)
    q, k, v = (split(lin(p, f"{prefix}.attention.self.{name}", x)) for name in ("query", "key", "value"))
    scores = (q @ k.transpose(-1, -2) / math.sqrt(d)).masked_fill((mask == 0)[:, None, None, :], float("-inf"))
    a = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(b, n, c)
    h = layer_norm(lin(p, f"{prefix}.attention.output.dense", a) + x, p, f"{prefix}.attention.output.LayerNorm")
    i = F.gelu(lin(p, f"{prefix}.intermediate.dense", h))
    return layer_norm(lin(p, f"{prefix}.output.dense", i) + h, p, f"{prefix}.output.LayerNorm")


def bert_shapes(prefix, c, inter):
    shapes = []
    for name in ("query", "key", "value"):
        shapes += [(f"{prefix}.attention.self.{name}.weight", (c, c)), (f"{prefix}.attention.self.{name}.bias", (c,))]
    return shapes + [
        (f"{prefix}.attention.output.dense.weight", (c, c)), (f"{prefix}.attention.output.dense.bias", (c,)),
        (f"{prefix}.attention.output.LayerNorm.weight", (c,)), (f"{prefix}.attention.output.LayerNorm.bias", (c,)),
        (f"{prefix}.intermediate.dense.weight", (inter, c)), (f"{prefix}.intermediate.dense.bias", (inter,)),
        (f"{prefix}.output.dense.weight", (c, inter)), (f"{prefix}.output.dense.bias", (c,)),
        (f"{prefix}.output.LayerNorm.weight", (c,)), (f"{prefix}.output.LayerNorm.bias", (c,))]


def random_params(shapes, generator):
    params = {}
    for name, shape in shapes:
        if "LayerNorm" in name:
            params[name] = (1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(*shape, generator=generator)
        elif name.endswith("bias"):
            params[name] = 0.1 * torch.randn(*shape, generator=generator)
        elif "position_embeddings" in name or "mask_embedding" in name:
            params[name] = 0.5 * torch.randn(*shape, generator=generator)
        else:
            fan_in = int(np.prod(shape[1:]))
            params[name] = torch.randn(*shape, generator=generator) / math.sqrt(fan_in)
    return params


def encoder_shapes(prefix, c, inter, layers, input_size, positions, conv=None, mask_embedding=False):
    """A frame encoder (input_size = k·F) or a patch encoder (patch_embedding, input_size = pf·pt); positions None:
    no position parameters (position prediction's encoder)."""
    embed = "patch_embedding" if conv == "patch" else "input_projection"
    shapes = [(f"{prefix}.{embed}.weight", (c, input_size)), (f"{prefix}.{embed}.bias", (c,))]
    if positions is None:
        pass
    elif isinstance(conv, tuple):
        kernel, groups = conv
        shapes += [(f"{prefix}.position_conv.conv.weight", (c, c // groups, kernel)), (f"{prefix}.position_conv.conv.bias", (c,))]
    else:
        shapes += [(f"{prefix}.position_embeddings", (positions, c))]
    if mask_embedding:
        shapes += [(f"{prefix}.mask_embedding", (c,))]
    shapes += [(f"{prefix}.LayerNorm.weight", (c,)), (f"{prefix}.LayerNorm.bias", (c,))]
    for layer in range(layers):
        shapes += bert_shapes(f"{prefix}.layers.{layer}", c, inter)
    return shapes


def stack_frames(features, k):
    """(B, T, F) → (B, T/k, k·F): frames t·k … t·k + k − 1 side by side (TERA's downsampling)."""
    b, t, f = features.shape
    assert t % k == 0
    return features.reshape(b, t // k, k * f)


def cut_patches(features, pf, pt):
    """(B, T, F) → (B, N, pf·pt), patch n = column·rows + row, entry i·pt + j = bin row·pf + i of frame column·pt + j;
    frames past the last whole column dropped (AST/SSAST's non-overlapping patches, time-major)."""
    b, t, f = features.shape
    rows, columns = f // pf, t // pt
    x = features[:, :columns * pt, :].reshape(b, columns, pt, rows, pf)       # (B, col, j, row, i)
    return x.permute(0, 1, 3, 4, 2).reshape(b, columns * rows, pf * pt)       # (B, col, row, i, j)


def prefix_mask(valid, width):
    mask = torch.zeros(len(valid), width, dtype=torch.int64)
    for row, count in enumerate(valid):
        mask[row, :count] = 1
    return mask


def frame_encoder(p, prefix, features, lengths, k, heads, layers, conv=None, masked=None, positions=True):
    """Every layer's states (B, N, C) of a frame encoder: stack k frames → Linear → masked positions replaced by the
    mask embedding (HuBERT §II-B) → + learned positions, or + GELU(grouped conv1d) over the unpadded positions
    (wav2vec 2.0 §2, an even kernel's extra output dropped) → LayerNorm → BERT layers."""
    x = lin(p, f"{prefix}.input_projection", stack_frames(features, k))
    b, n, c = x.shape
    mask = prefix_mask([(length + k - 1) // k for length in lengths], n)
    if masked is not None:
        x = torch.where(masked[:, :, None], p[f"{prefix}.mask_embedding"].expand(b, n, c), x)
    if not positions:
        pass                                  # position prediction's encoder: no position information at all
    elif conv is None:
        x = x + p[f"{prefix}.position_embeddings"][:n]
    else:
        kernel, groups = conv
        y = F.conv1d((x * mask[:, :, None]).transpose(1, 2), p[f"{prefix}.position_conv.conv.weight"],
                     p[f"{prefix}.position_conv.conv.bias"], padding=kernel // 2, groups=groups)[:, :, :n]
        x = x + F.gelu(y).transpose(1, 2)
    states = [layer_norm(x, p, f"{prefix}.LayerNorm")]
    for layer in range(layers):
        states.append(bert_layer(p, f"{prefix}.layers.{layer}", states[-1], mask, heads))
    return states, mask


def patch_encoder(p, prefix, patches, lengths, pt, rows, heads, layers, masked=None):
    """Every layer's states of a patch encoder: Linear patch embedding (a conv2d of stride = kernel) → masked patches
    replaced by the mask embedding (SSAST §2.2) → + positions → LayerNorm → BERT layers over the valid columns."""
    x = lin(p, f"{prefix}.patch_embedding", patches)
    b, n, c = x.shape
    if masked is not None:
        x = torch.where(masked[:, :, None], p[f"{prefix}.mask_embedding"].expand(b, n, c), x)
    x = layer_norm(x + p[f"{prefix}.position_embeddings"][:n], p, f"{prefix}.LayerNorm")
    mask = prefix_mask([min(n // rows, (length + pt - 1) // pt) * rows for length in lengths], n)
    states = [x]
    for layer in range(layers):
        states.append(bert_layer(p, f"{prefix}.layers.{layer}", states[-1], mask, heads))
    return states, mask


def features_batch(generator, b, t, f, lengths):
    """Normalised feature crops (B, T, F), zero after each row's length (the trainer's batches)."""
    x = torch.randn(b, t, f, generator=generator)
    for row, length in enumerate(lengths):
        x[row, length:] = 0
    return x


def leaves(params, frozen):
    return {k: v.to(REF).requires_grad_(k not in frozen) for k, v in params.items()}


def f32(t):
    return t.detach().to(torch.float32).contiguous()


def gradients(loss, p, frozen):
    trained = [k for k in p if k not in frozen]
    grads = torch.autograd.grad(loss, [p[k] for k in trained], allow_unused=True, retain_graph=True)
    return {k: (torch.zeros_like(p[k]) if g is None else g) for k, g in zip(trained, grads)}


def add_case(tensors, case, loss, grads):
    tensors[f"{case}.loss"] = f32(loss.reshape(1))
    for k, g in grads.items():
        tensors[f"{case}.grad.{k}"] = f32(g)


def assert_margin(scores, what, margin=1e-3):
    """The best and second-best candidates of every row must differ by margin: no float32 tie can flip a label."""
    top = scores.topk(2, dim=-1).values
    gap = (top[..., 0] - top[..., 1]).min().item()
    assert gap > margin, f"{what}: a near tie ({gap:.2e}); change the seed"


def meta_of(**values):
    return {k: (",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)) for k, v in values.items()}


def save(name, tensors, meta):
    OUT.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(OUT / name), metadata=meta)
    size = (OUT / name).stat().st_size
    print(f"wrote {name} ({size / 1024:.0f} KiB)")


# ---------------------------------------------------------------------------------------------------------------
# TERA

def make_tera():
    g = torch.Generator().manual_seed(11)
    B, T, FEAT, K, LENGTHS = 3, 12, 6, 2, [12, 7, 10]
    C, HEADS, INTER, LAYERS = 8, 2, 16, 1
    SPAN, NOISE_STD = 3, 0.2
    shapes = encoder_shapes("encoder", C, INTER, LAYERS, K * FEAT, T // K)
    shapes += [("head.dense.weight", (C, C)), ("head.dense.bias", (C,)), ("head.LayerNorm.weight", (C,)),
               ("head.LayerNorm.bias", (C,)), ("head.decoder.weight", (K * FEAT, C)), ("head.decoder.bias", (K * FEAT,))]
    params = random_params(shapes, g)
    x = features_batch(g, B, T, FEAT, LENGTHS).to(REF)

    # The alterations, fixed: per row its spans (start, kind, source of a random segment), one band, the noise.
    # Kinds: 0 zeroed, 1 replaced by the segment of the same utterance starting at `source`, 2 kept (TERA §3.1:
    # 80 % / 10 % / 10 % of the utterances, one decision for all of an utterance's spans). No two spans overlap here.
    spans = {0: [(1, 0, 0), (6, 0, 0)], 1: [(0, 1, 4), (4, 1, 1)], 2: [(2, 2, 0), (6, 2, 0)]}
    bands = {0: (1, 2), 1: (4, 1), 2: (0, 0)}     # (lowest bin, width): §3.2, a block of channels zeroed everywhere
    noised = {0: False, 1: True, 2: False}        # §3.3: Gaussian noise over the whole utterance, all of it predicted
    noise = NOISE_STD * torch.randn(B, T, FEAT, generator=g).to(REF)
    for row, length in enumerate(LENGTHS):
        noise[row, length:] = 0
        if not noised[row]:
            noise[row] = 0

    altered, weights = x.clone(), torch.zeros_like(x)
    for row, length in enumerate(LENGTHS):
        for start, kind, source in spans[row]:
            assert start + SPAN <= length and (kind != 1 or source + SPAN <= length)
            if kind == 0:
                altered[row, start:start + SPAN] = 0
            elif kind == 1:
                altered[row, start:start + SPAN] = x[row, source:source + SPAN]
            weights[row, start:start + SPAN] = 1
        low, width = bands[row]
        altered[row, :length, low:low + width] = 0
        weights[row, :length, low:low + width] = 1
        if noised[row]:
            altered[row, :length] += noise[row, :length]
            weights[row, :length] = 1

    p = leaves(params, set())
    states, _ = frame_encoder(p, "encoder", altered, LENGTHS, K, HEADS, LAYERS)
    h = layer_norm(F.gelu(lin(p, "head.dense", states[-1])), p, "head.LayerNorm")
    reconstructed = lin(p, "head.decoder", h).reshape(B, T, FEAT)       # k·F per position back to k frames
    loss = ((reconstructed - x).abs() * weights).sum() / weights.sum()
    grads = gradients(loss, p, set())

    tensors = {"features": f32(x), "altered": f32(altered), "weights": f32(weights), "noise": f32(noise),
               "reconstructed": f32(reconstructed)}
    plan = []   # (row, start, kind, source) per span
    for row in range(B):
        plan += [[row, s, k, src] for s, k, src in spans[row]]
    tensors["spans"] = torch.tensor(plan, dtype=torch.int64)
    tensors["bands"] = torch.tensor([list(bands[row]) for row in range(B)], dtype=torch.int64)
    tensors["noised"] = torch.tensor([int(noised[row]) for row in range(B)], dtype=torch.int64)
    for k, v in params.items():
        tensors[f"param.{k}"] = f32(v)
    add_case(tensors, "tera", loss, grads)
    save("tera_objective.safetensors", tensors,
         meta_of(frames=T, feature_dim=FEAT, frame_stack=K, lengths=LENGTHS, hidden_size=C, heads=HEADS,
                 intermediate_size=INTER, layers=LAYERS, span_length=SPAN, noise_std=NOISE_STD,
                 altered_positions=int(weights.sum().item())))
    print(f"  tera: L1 {loss.item():.6f} over {int(weights.sum().item())} altered values")


# ---------------------------------------------------------------------------------------------------------------
# Position prediction

def make_position_prediction():
    """Zhai et al. 2022: an encoder without positions, a linear head naming each stacked position's index,
    cross-entropy over the positions that hold audio (mean)."""
    g = torch.Generator().manual_seed(15)
    B, T, FEAT, K, LENGTHS = 3, 12, 6, 2, [12, 7, 10]
    C, HEADS, INTER, LAYERS = 8, 2, 16, 2
    N = T // K
    shapes = encoder_shapes("encoder", C, INTER, LAYERS, K * FEAT, None) + [("head.weight", (N, C)), ("head.bias", (N,))]
    params = random_params(shapes, g)
    x = features_batch(g, B, T, FEAT, LENGTHS).to(REF)
    p = leaves(params, set())
    states, mask = frame_encoder(p, "encoder", x, LENGTHS, K, HEADS, LAYERS, positions=False)
    logits = lin(p, "head", states[-1])                                            # (B, N, N)
    targets = torch.arange(N).expand(B, N).clone()
    targets[mask == 0] = -100
    loss = F.cross_entropy(logits.reshape(B * N, N), targets.reshape(-1), ignore_index=-100)
    grads = gradients(loss, p, set())
    tensors = {"features": f32(x), "logits": f32(logits)}
    for k, v in params.items():
        tensors[f"param.{k}"] = f32(v)
    add_case(tensors, "position_prediction", loss, grads)
    save("position_prediction_objective.safetensors", tensors,
         meta_of(frames=T, feature_dim=FEAT, frame_stack=K, lengths=LENGTHS, hidden_size=C, heads=HEADS,
                 intermediate_size=INTER, layers=LAYERS, predicted=int(mask.sum().item())))
    print(f"  position prediction: cross-entropy {loss.item():.6f} over {int(mask.sum().item())} positions")


# ---------------------------------------------------------------------------------------------------------------
# SSAST

def make_ssast():
    g = torch.Generator().manual_seed(12)
    B, T, FEAT, PF, PT, LENGTHS = 2, 12, 8, 4, 2, [12, 7]
    ROWS, COLUMNS = FEAT // PF, T // PT
    N = ROWS * COLUMNS
    C, HEADS, INTER, LAYERS = 8, 2, 16, 1
    WEIGHT = 10.0                                  # §2.3: L = L_d + λ L_g, λ = 10
    P = PF * PT
    shapes = encoder_shapes("encoder", C, INTER, LAYERS, P, N, conv="patch", mask_embedding=True)
    for head in ("discriminative_head", "generative_head"):
        shapes += [(f"{head}.0.weight", (C, C)), (f"{head}.0.bias", (C,)), (f"{head}.2.weight", (P, C)), (f"{head}.2.bias", (P,))]
    params = random_params(shapes, g)
    x = features_batch(g, B, T, FEAT, LENGTHS).to(REF)
    # The same count of masked patches in every clip (the Swift's rule), among each clip's valid patches: clip 1 has
    # ⌈7/2⌉ = 4 valid columns (8 patches), its last column half padding.
    masked_lists = [[0, 1, 2, 5, 9, 10], [1, 2, 3, 4, 6, 7]]
    M = len(masked_lists[0])
    masked = torch.zeros(B, N, dtype=torch.bool)
    for row, positions in enumerate(masked_lists):
        masked[row, positions] = True

    p = leaves(params, set())
    patches = cut_patches(x, PF, PT)
    states, _ = patch_encoder(p, "encoder", patches, LENGTHS, PT, ROWS, HEADS, LAYERS, masked=masked)
    index = torch.tensor(masked_lists)
    at_masked = torch.stack([states[-1][row, index[row]] for row in range(B)])        # (B, M, C)
    targets = torch.stack([patches[row, index[row]] for row in range(B)])             # (B, M, P)

    def head(name, h):
        return lin(p, f"{name}.2", F.relu(lin(p, f"{name}.0", h)))
    c = head("discriminative_head", at_masked)
    r = head("generative_head", at_masked)

    def info_nce_clip():
        # eq. 1: −(1/N) Σ_i log(exp(c_i·x_i) / Σ_j exp(c_i·x_j)), j over the clip's masked patches. (SSAST's code
        # normalises over the predictions for each target instead; the Swift follows the paper's equation.)
        total = 0
        for row in range(B):
            scores = c[row] @ targets[row].t()                                            # (M, M): c_i · x_j
            total = total - torch.log_softmax(scores, dim=1).diagonal().sum()
        return total / (B * M)

    def info_nce_batch():
        scores = c.reshape(B * M, P) @ targets.reshape(B * M, P).t()                       # every masked patch of the batch
        return -torch.log_softmax(scores, dim=1).diagonal().mean()

    # eq. 2: mean squared error of the reconstruction; the mean over every value (SSAST's code, with which λ = 10 was
    # tuned; the recipe's generative_weight multiplies this mean).
    mse = ((r - targets) ** 2).mean()
    tensors = {"features": f32(x), "masked": torch.tensor(masked_lists, dtype=torch.int64)}
    for k, v in params.items():
        tensors[f"param.{k}"] = f32(v)
    for case, nce in (("clip", info_nce_clip()), ("batch", info_nce_batch())):
        loss = nce + WEIGHT * mse
        add_case(tensors, case, loss, gradients(loss, p, set()))
        tensors[f"{case}.infonce"] = f32(nce.reshape(1))
        print(f"  ssast {case}: InfoNCE {nce.item():.6f} + 10 · MSE {mse.item():.6f} = {loss.item():.6f}")
    both = info_nce_clip() + info_nce_batch() + WEIGHT * mse
    add_case(tensors, "clip_and_batch", both, gradients(both, p, set()))
    tensors["mse"] = f32(mse.reshape(1))
    save("ssast_objective.safetensors", tensors,
         meta_of(frames=T, feature_dim=FEAT, patch_frequency=PF, patch_time=PT, lengths=LENGTHS, hidden_size=C,
                 heads=HEADS, intermediate_size=INTER, layers=LAYERS, generative_weight=WEIGHT))


# ---------------------------------------------------------------------------------------------------------------
# Masked label prediction: BEST-RQ, HuBERT, BEATs

def l2(x):
    return x / torch.sqrt((x * x).sum(-1, keepdim=True))


def random_projection_labels(inputs, projection, codebook):
    """BEST-RQ §2.1: y = argmin_k ‖ℓ2(c_k) − ℓ2(A x)‖, A Xavier-uniform, c_k standard normal. The inputs are the
    corpus' normalised features (the paper's normalisation to zero mean and unit variance per bin is the feature
    corpus' statistics; speech_pipeline checks it)."""
    projected = l2(inputs @ projection)
    distances = torch.cdist(projected, l2(codebook)) ** 2
    return distances.argmin(-1), -distances


def mfcc_of(log_mel, count):
    """HuBERT's first-iteration features as the recipe computes them from normalised log-mel frames: Kaldi's MFCC
    transform, the orthonormal DCT-II of the frame with the lifter 1 + (22/2)·sin(π n / 22) (the paper clusters
    39-d MFCC + Δ + ΔΔ of the waveform; the Swift clusters the cepstra of the normalised fbank the model reads,
    documented in ClusteredFeatures)."""
    cepstra = torch.from_numpy(scipy.fft.dct(log_mel.numpy(), type=2, norm="ortho", axis=-1)[..., :count])
    lifter = 1 + 11 * torch.sin(math.pi * torch.arange(count, dtype=REF) / 22)
    return cepstra * lifter


def masked_cross_entropy(logits, labels, masked):
    """−mean over the masked positions of log p(label): HuBERT's L_m (α = 1), BEST-RQ's and BEATs' loss."""
    flat = masked.reshape(-1)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1])[flat], labels.reshape(-1)[flat])


def make_masked_prediction():
    g = torch.Generator().manual_seed(13)
    tensors, meta = {}, {}
    C, HEADS, INTER, LAYERS = 8, 2, 16, 1

    # Frame encoders (BEST-RQ, HuBERT): 2 stacked frames a position, convolutional positions (kernel 4, 2 groups),
    # as recipes/bestrq-small.yaml and hubert-small.yaml.
    B, T, FEAT, K, LENGTHS, KERNEL, GROUPS = 2, 12, 6, 2, [12, 9], 4, 2
    N = T // K
    x = features_batch(g, B, T, FEAT, LENGTHS).to(REF)
    masked = torch.zeros(B, N, dtype=torch.bool)      # spans of 2 positions: row 0 starts {0, 3}, row 1 starts {1}
    masked[0, [0, 1, 3, 4]] = True
    masked[1, [1, 2]] = True
    valid = torch.tensor([[n < (length + K - 1) // K for n in range(N)] for length in LENGTHS])
    tensors["frames.features"], tensors["frames.masked"] = f32(x), masked.to(torch.int64)
    meta.update(meta_of(frames_frames=T, frames_feature_dim=FEAT, frames_stack=K, frames_lengths=LENGTHS,
                        frames_kernel=KERNEL, frames_groups=GROUPS))

    encoder = encoder_shapes("encoder", C, INTER, LAYERS, K * FEAT, N, conv=(KERNEL, GROUPS), mask_embedding=True)

    def frame_case(case, tokenizer_params, labels_fn, codes):
        params = random_params(encoder + [("head.weight", (codes, C)), ("head.bias", (codes,))], g)
        params.update(tokenizer_params)
        frozen = set(tokenizer_params)
        p = leaves(params, frozen)
        labels, scores = labels_fn()
        assert_margin(scores[valid], case)
        states, _ = frame_encoder(p, "encoder", x, LENGTHS, K, HEADS, LAYERS, conv=(KERNEL, GROUPS), masked=masked)
        loss = masked_cross_entropy(lin(p, "head", states[-1]), labels, masked)
        add_case(tensors, case, loss, gradients(loss, p, frozen))
        tensors[f"{case}.labels"] = labels.reshape(-1).to(torch.int64)
        for k, v in params.items():
            tensors[f"{case}.param.{k}"] = f32(v)
        print(f"  {case}: masked cross-entropy {loss.item():.6f} over {int(masked.sum())} positions, labels {labels.tolist()}")

    # BEST-RQ: codebook of 8 codes of dimension 4 from the 12 values of each position's stacked frames.
    projection = torch.empty(K * FEAT, 4, dtype=REF)
    bound = math.sqrt(6 / (K * FEAT + 4))
    projection.uniform_(-bound, bound, generator=g)
    codebook = l2(torch.randn(8, 4, generator=g).to(REF))      # stored as the quantiser keeps it: unit rows
    frame_case("bestrq", {"tokenizer.projection": projection, "tokenizer.codebook": codebook},
               lambda: tuple(t.reshape(B, N, *t.shape[1:]) for t in
                             random_projection_labels(stack_frames(x, K).reshape(B * N, -1), projection, codebook)), 8)

    # HuBERT: 5 centroids of 4 cepstra; position n is labelled by frame n·k (fairseq's label rate).
    cepstra = mfcc_of(x, 4)                                                          # (B, T, 4)
    centroids = cepstra[valid.repeat_interleave(K, 1)[:, :T]].reshape(-1, 4)[torch.randperm(B * T - 3, generator=g)[:5]]
    centroids = centroids + 0.05 * torch.randn(5, 4, generator=g).to(REF)

    def hubert_labels():
        first = cepstra[:, ::K]                                                      # (B, N, 4)
        distances = torch.cdist(first.reshape(B * N, 4), centroids).reshape(B, N, 5) ** 2
        return distances.argmin(-1), -distances
    frame_case("hubert", {"tokenizer.centroids": centroids}, hubert_labels, 5)
    tensors["hubert.cepstra"] = f32(cepstra)

    # Patch encoders (BEATs): 4 × 2 patches of 8 bins, 2 rows × 6 columns; clip 1 has 4 valid columns.
    B, T, FEAT, PF, PT, LENGTHS = 2, 12, 8, 4, 2, [12, 7]
    ROWS, N = FEAT // PF, (T // PT) * (FEAT // PF)
    P = PF * PT
    x = features_batch(g, B, T, FEAT, LENGTHS).to(REF)
    patches = cut_patches(x, PF, PT)
    valid_patches = [min(T // PT, (length + PT - 1) // PT) * ROWS for length in LENGTHS]
    valid = torch.tensor([[n < count for n in range(N)] for count in valid_patches])
    masked = torch.zeros(B, N, dtype=torch.bool)       # 75 % of each clip's valid patches (§2.3): 9 of 12, 6 of 8
    masked[0, [0, 2, 3, 4, 6, 7, 8, 10, 11]] = True
    masked[1, [0, 1, 3, 4, 5, 6]] = True
    tensors["patches.features"], tensors["patches.masked"] = f32(x), masked.to(torch.int64)
    meta.update(meta_of(patches_frames=T, patches_feature_dim=FEAT, patch_frequency=PF, patch_time=PT,
                        patches_lengths=LENGTHS, hidden_size=C, heads=HEADS, intermediate_size=INTER, layers=LAYERS))
    student = encoder_shapes("encoder", C, INTER, LAYERS, P, N, conv="patch", mask_embedding=True)

    def patch_case(case, tokenizer_params, labels_fn, codes):
        params = random_params(student + [("head.weight", (codes, C)), ("head.bias", (codes,))], g)
        params.update(tokenizer_params)
        frozen = set(tokenizer_params)
        p = leaves(params, frozen)
        labels, scores = labels_fn()
        assert_margin(scores[valid], case)
        states, _ = patch_encoder(p, "encoder", patches, LENGTHS, PT, ROWS, HEADS, LAYERS, masked=masked)
        loss = masked_cross_entropy(lin(p, "head", states[-1]), labels, masked)
        add_case(tensors, case, loss, gradients(loss, p, frozen))
        tensors[f"{case}.labels"] = labels.reshape(-1).to(torch.int64)
        for k, v in params.items():
            tensors[f"{case}.param.{k}"] = f32(v)
        print(f"  {case}: masked cross-entropy {loss.item():.6f} over {int(masked.sum())} patches, labels {labels.tolist()}")

    # BEATs iteration 1: the random-projection quantiser of each patch (8 values → 4, 8 codes).
    projection = torch.empty(P, 4, dtype=REF)
    bound = math.sqrt(6 / (P + 4))
    projection.uniform_(-bound, bound, generator=g)
    codebook = l2(torch.randn(8, 4, generator=g).to(REF))
    patch_case("beats_iteration1", {"tokenizer.projection": projection, "tokenizer.codebook": codebook},
               lambda: tuple(t.reshape(B, N, *t.shape[1:]) for t in
                             random_projection_labels(patches.reshape(B * N, P), projection, codebook)), 8)

    # BEATs later iterations: a trained tokenizer (its own patch encoder of one layer, quantize_layer Linear → tanh →
    # Linear to 4 dimensions, 6 unit codes) labels each patch of the unmasked clip with its code of highest cosine.
    tokenizer = random_params(encoder_shapes("tokenizer.encoder", C, INTER, LAYERS, P, N, conv="patch", mask_embedding=True)
                              + [("tokenizer.quantize_layer.0.weight", (C, C)), ("tokenizer.quantize_layer.0.bias", (C,)),
                                 ("tokenizer.quantize_layer.2.weight", (4, C)), ("tokenizer.quantize_layer.2.bias", (4,)),
                                 ("tokenizer.quantize.embedding.weight", (6, 4))], g)
    tokenizer = {k: v.to(REF) for k, v in tokenizer.items()}
    tokenizer["tokenizer.quantize.embedding.weight"] = l2(tokenizer["tokenizer.quantize.embedding.weight"])
    tokenizer["tokenizer.quantize.embedding.initted"] = torch.ones(1, dtype=REF)
    tokenizer["tokenizer.quantize.cluster_size"] = torch.full((6,), 10.0, dtype=REF)

    def beats_labels():
        states, _ = patch_encoder(tokenizer, "tokenizer.encoder", patches, LENGTHS, PT, ROWS, HEADS, LAYERS)
        z = l2(lin(tokenizer, "tokenizer.quantize_layer.2", torch.tanh(lin(tokenizer, "tokenizer.quantize_layer.0", states[-1]))))
        cosines = z @ tokenizer["tokenizer.quantize.embedding.weight"].t()          # (B, N, 6)
        return cosines.argmax(-1), cosines
    patch_case("beats_tokenizer", tokenizer, beats_labels, 6)
    save("masked_prediction_objective.safetensors", tensors, meta)


# ---------------------------------------------------------------------------------------------------------------
# The speech pipeline and the probes

def make_speech_pipeline():
    kaldi = import_kaldi()
    g = torch.Generator().manual_seed(14)
    wav = ROOT / "Tests/AudioDataTests/Fixtures/audio/chirp16k_int16.wav"
    rate, samples = wavfile.read(wav)
    assert rate == 16000 and samples.dtype == np.int16 and samples.ndim == 1
    # Decoded int16 / 32768, times Kaldi's 16-bit scale: the stored integers.
    waveform = torch.from_numpy(samples.astype(np.float64))[None]
    fbank = kaldi.fbank(waveform, num_mel_bins=80, sample_frequency=16000, dither=0.0, energy_floor=1.0)   # (T, 80)
    frames = fbank.shape[0]
    # Statistics of a training corpus: here this utterance's own, shifted and scaled a little per bin.
    mean = fbank.mean(0) + 0.1 * torch.randn(80, generator=g).to(REF)
    std = fbank.std(0, unbiased=False) * (1 + 0.1 * torch.rand(80, generator=g).to(REF))
    mean, std = mean.float().to(REF), std.float().to(REF)                     # as Swift holds them: float32
    normalized = (fbank - mean) / std

    C, HEADS, INTER, LAYERS, K, MAX_FRAMES = 16, 2, 32, 2, 2, 160
    usable = frames - frames % K
    assert usable == frames, "a whole number of stacked positions"
    shapes = encoder_shapes("encoder", C, INTER, LAYERS, K * 80, MAX_FRAMES // K)
    shapes += [("head.dense.weight", (C, C)), ("head.dense.bias", (C,)), ("head.LayerNorm.weight", (C,)),
               ("head.LayerNorm.bias", (C,)), ("head.decoder.weight", (K * 80, C)), ("head.decoder.bias", (K * 80,))]
    params = random_params(shapes, g)
    p = {k: v.to(REF) for k, v in params.items()}
    states, _ = frame_encoder(p, "encoder", normalized[None], [frames], K, HEADS, LAYERS)
    states = [s[0] for s in states]                                            # layers + 1 of (T', C)

    # Probes (SUPERB): softmax-weighted sum of the layers, with learned logits w; the utterance probe averages each
    # layer over time first (the mean commutes with the weighted sum), then a linear head and cross-entropy.
    CLASSES, LABEL = 4, 2
    w = torch.tensor([0.3, -0.2, 0.5], dtype=REF, requires_grad=True)
    head_w = (0.3 * torch.randn(CLASSES, C, generator=g)).to(REF).requires_grad_(True)
    head_b = (0.1 * torch.randn(CLASSES, generator=g)).to(REF).requires_grad_(True)
    stacked = torch.stack(states, -1)                                          # (T', C, L)
    mixed_frames = stacked @ torch.softmax(w, 0)                               # (T', C)
    utterance = stacked.mean(0) @ torch.softmax(w, 0)                          # (C)
    logits = F.linear(utterance, head_w, head_b)
    loss = F.cross_entropy(logits[None], torch.tensor([LABEL]))
    g_w, g_hw, g_hb = torch.autograd.grad(loss, [w, head_w, head_b])
    frame_logits = F.linear(mixed_frames, head_w, head_b)                      # the phoneme probe's (T', classes)

    tensors = {"fbank": f32(fbank), "mean": f32(mean), "std": f32(std), "normalized": f32(normalized),
               "probe.layer_logits": f32(w), "probe.head.weight": f32(head_w), "probe.head.bias": f32(head_b),
               "probe.utterance_logits": f32(logits), "probe.loss": f32(loss.reshape(1)),
               "probe.grad.layer_logits": f32(g_w), "probe.grad.head.weight": f32(g_hw), "probe.grad.head.bias": f32(g_hb),
               "probe.frame_logits": f32(frame_logits), "probe.mixed_frames": f32(mixed_frames)}
    for layer, s in enumerate(states):
        tensors[f"states.{layer}"] = f32(s)
    for k, v in params.items():
        tensors[f"param.{k}"] = f32(v)
    save("speech_pipeline.safetensors", tensors,
         meta_of(wav="Tests/AudioDataTests/Fixtures/audio/chirp16k_int16.wav", frames=frames, feature_dim=80,
                 frame_stack=K, hidden_size=C, heads=HEADS, intermediate_size=INTER, layers=LAYERS, max_frames=MAX_FRAMES,
                 classes=CLASSES, label=LABEL, kaldi=json.dumps({"num_mel_bins": 80, "dither": 0.0})))
    print(f"  pipeline: {frames} frames, probe loss {loss.item():.6f}")


if __name__ == "__main__":
    torch.set_default_dtype(torch.float32)
    make_tera()
    make_ssast()
    make_masked_prediction()
    make_speech_pipeline()
    make_position_prediction()
