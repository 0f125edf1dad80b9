#!/usr/bin/env python3
"""PyTorch reference for FastSpeech 2 trained with its own aligner, for Tests/TrainingTests (FastSpeechFixtureTests).

Written here from the papers, in float64 (stored as float32), on a tiny model with padded utterances:

- Feed-forward Transformer block (FastSpeech §3.1): h = LN(x + MHA(x)) with rotary q, k (rotate-half, base 10000) and
  padded keys skipped; y = LN(h + conv2(ReLU(conv1(h·m)))·m)·m, conv1 kernel K ("same" padding), conv2 kernel 1.
- Variance predictor (FastSpeech 2 §2.3): LN(ReLU(conv(x·m))) twice, then a linear layer to one value, ·m.
- Aligner (Badlani et al. 2022 §2.1): keys conv1x1(ReLU(conv3(e))), queries conv1x1(ReLU(conv1x1(ReLU(conv3(mel))))),
  scores −τ‖q − k‖²; log_softmax over the real phonemes (padded ones at −1e4) plus log(beta-binomial prior + 1e-8).
- Forward-sum: CTC (mean reduction, zero_infinity) over [blank logit −1 | alignment] with labels 1…P_b.
- Durations: monotonic alignment search (Glow-TTS's maximum_path, ties stay on the phoneme) in NumPy over float64.
- Binarization: −mean over real frames of log_softmax(alignment)[t, path(t)].
- Encoder → duration predictor (target log(d + 1)) → energy predictor (target: the frame energies' mean over each
  phoneme's frames) → h + conv3(target) → length regulator → decoder → linear to mel.
- Loss = L1(mel, real frames) + MSE(log durations) + MSE(energy) + forward-sum + 0.5 · binarization.

Writes Tests/TrainingTests/Fixtures/fastspeech.safetensors: phonemes, phoneme_lengths, mel, frame_lengths, energy,
param.<name>, durations, loss, the terms, grad.<name>. Needs torch, safetensors and scipy.
Run: python3 scripts/make_fastspeech_fixtures.py
"""
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from scipy.stats import betabinom

REF = torch.float64
EPS = 1e-5
OUT = Path(__file__).resolve().parent.parent / "Tests" / "TrainingTests" / "Fixtures"

B, P_LENGTHS, T_LENGTHS = 2, [5, 3], [12, 8]
PHONEMES, MELS, C, HEADS, HIDDEN, KERNEL = 7, 6, 8, 2, 12, 3
PRED_HIDDEN, PRED_KERNEL, ALIGN_DIM, TEMPERATURE = 8, 3, 4, 1.0
BINARIZATION = 0.5


def rotate(t, base=10000.0):
    n, d = t.shape[2], t.shape[3]
    inverse = base ** (-torch.arange(0, d // 2, dtype=REF) * 2 / d)
    angles = torch.arange(n, dtype=REF)[:, None] * inverse[None, :]
    cos, sin = torch.cos(angles), torch.sin(angles)
    first, second = t[..., : d // 2], t[..., d // 2:]
    return torch.cat([first * cos - second * sin, second * cos + first * sin], dim=-1)


def layer_norm(x, p, prefix):
    return F.layer_norm(x, x.shape[-1:], p[prefix + ".weight"], p[prefix + ".bias"], EPS)


def conv(p, prefix, x):
    """x (B, N, Cin) → (B, N, Cout), same padding."""
    w = p[prefix + ".weight"]
    return F.conv1d(x.transpose(1, 2), w, p[prefix + ".bias"], padding=w.shape[2] // 2).transpose(1, 2)


def mask_of(lengths, width):
    return (torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]).to(REF)


def fft_block(p, prefix, x, m):
    b, n, c = x.shape
    d = c // HEADS

    def split(t):
        return t.view(b, n, HEADS, d).transpose(1, 2)
    q, k, v = (split(F.linear(x, p[f"{prefix}.attention.self.{name}.weight"], p[f"{prefix}.attention.self.{name}.bias"]))
               for name in ("query", "key", "value"))
    q, k = rotate(q), rotate(k)
    scores = (q @ k.transpose(-1, -2) / math.sqrt(d)).masked_fill((m == 0)[:, None, None, :], float("-inf"))
    a = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(b, n, c)
    a = F.linear(a, p[f"{prefix}.attention.output.dense.weight"], p[f"{prefix}.attention.output.dense.bias"])
    h = layer_norm(x + a, p, f"{prefix}.attention_norm")
    mm = m[:, :, None]
    hidden = F.relu(conv(p, f"{prefix}.conv1", h * mm))
    return layer_norm(h + conv(p, f"{prefix}.conv2", hidden * mm), p, f"{prefix}.output_norm") * mm


def variance_predictor(p, prefix, x, m):
    mm = m[:, :, None]
    h = layer_norm(F.relu(conv(p, f"{prefix}.conv1", x * mm)), p, f"{prefix}.norm1")
    h = layer_norm(F.relu(conv(p, f"{prefix}.conv2", h * mm)), p, f"{prefix}.norm2")
    return (F.linear(h, p[f"{prefix}.linear.weight"], p[f"{prefix}.linear.bias"]) * mm)[..., 0]


def log_prior(t, n):
    probs = np.stack([betabinom(n, i, t + 1 - i).pmf(np.arange(n)) for i in range(1, t + 1)])
    return np.log(probs + 1e-8)


def maximum_path(logp):
    t_len, p_len = logp.shape
    value = np.full((t_len, p_len), -np.inf)
    value[0, 0] = logp[0, 0]
    for t in range(1, t_len):
        for p in range(max(0, p_len - (t_len - t)), min(p_len - 1, t) + 1):
            stay = value[t - 1, p]
            advance = value[t - 1, p - 1] if p > 0 else -np.inf
            value[t, p] = max(stay, advance) + logp[t, p]
    durations, p = np.zeros(p_len, dtype=np.int64), p_len - 1
    for t in range(t_len - 1, -1, -1):
        durations[p] += 1
        if t > 0 and p > 0 and (p == t or value[t - 1, p - 1] > value[t - 1, p]):
            # The margin keeps float32 from taking the other branch.
            assert abs(value[t - 1, p - 1] - value[t - 1, p]) > 1e-4 or p == t, "MAS tie within rounding"
            p -= 1
    return durations


def shapes():
    out = [("embedding.weight", (PHONEMES, C))]
    for stack in ("encoder", "decoder"):
        pre = f"{stack}.layers.0"
        for name in ("query", "key", "value"):
            out += [(f"{pre}.attention.self.{name}.weight", (C, C)), (f"{pre}.attention.self.{name}.bias", (C,))]
        out += [(f"{pre}.attention.output.dense.weight", (C, C)), (f"{pre}.attention.output.dense.bias", (C,)),
                (f"{pre}.attention_norm.weight", (C,)), (f"{pre}.attention_norm.bias", (C,)),
                (f"{pre}.conv1.weight", (HIDDEN, C, KERNEL)), (f"{pre}.conv1.bias", (HIDDEN,)),
                (f"{pre}.conv2.weight", (C, HIDDEN, 1)), (f"{pre}.conv2.bias", (C,)),
                (f"{pre}.output_norm.weight", (C,)), (f"{pre}.output_norm.bias", (C,))]
    for pre in ("duration_predictor", "variance_predictors.0"):
        out += [(f"{pre}.conv1.weight", (PRED_HIDDEN, C, PRED_KERNEL)), (f"{pre}.conv1.bias", (PRED_HIDDEN,)),
                (f"{pre}.norm1.weight", (PRED_HIDDEN,)), (f"{pre}.norm1.bias", (PRED_HIDDEN,)),
                (f"{pre}.conv2.weight", (PRED_HIDDEN, PRED_HIDDEN, PRED_KERNEL)), (f"{pre}.conv2.bias", (PRED_HIDDEN,)),
                (f"{pre}.norm2.weight", (PRED_HIDDEN,)), (f"{pre}.norm2.bias", (PRED_HIDDEN,)),
                (f"{pre}.linear.weight", (1, PRED_HIDDEN)), (f"{pre}.linear.bias", (1,))]
    out += [("variance_embeddings.0.weight", (C, 1, 3)), ("variance_embeddings.0.bias", (C,)),
            ("mel_linear.weight", (MELS, C)), ("mel_linear.bias", (MELS,)),
            ("aligner.key_proj.0.weight", (2 * C, C, 3)), ("aligner.key_proj.0.bias", (2 * C,)),
            ("aligner.key_proj.2.weight", (ALIGN_DIM, 2 * C, 1)), ("aligner.key_proj.2.bias", (ALIGN_DIM,)),
            ("aligner.query_proj.0.weight", (2 * MELS, MELS, 3)), ("aligner.query_proj.0.bias", (2 * MELS,)),
            ("aligner.query_proj.2.weight", (MELS, 2 * MELS, 1)), ("aligner.query_proj.2.bias", (MELS,)),
            ("aligner.query_proj.4.weight", (ALIGN_DIM, MELS, 1)), ("aligner.query_proj.4.bias", (ALIGN_DIM,))]
    return out


def main():
    g = torch.Generator().manual_seed(26)
    params = {}
    for name, shape in shapes():
        if "norm" in name:
            value = (1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(*shape, generator=g)
        elif name.endswith("bias"):
            value = 0.1 * torch.randn(*shape, generator=g)
        else:
            value = torch.randn(*shape, generator=g) / math.sqrt(int(np.prod(shape[1:])))
        params[name] = value.to(REF).requires_grad_(True)
    p = params
    pw, tw = max(P_LENGTHS), max(T_LENGTHS)
    pm, fm = mask_of(P_LENGTHS, pw), mask_of(T_LENGTHS, tw)
    phonemes = (torch.randint(1, PHONEMES, (B, pw), generator=g) * pm.long())
    mel = torch.randn(B, tw, MELS, generator=g).to(REF) * fm[:, :, None]
    energy = torch.randn(B, tw, generator=g).to(REF) * fm

    e = F.embedding(phonemes, p["embedding.weight"])
    # Aligner.
    keys = conv(p, "aligner.key_proj.2", F.relu(conv(p, "aligner.key_proj.0", e * pm[:, :, None])))
    q = conv(p, "aligner.query_proj.0", mel * fm[:, :, None])
    q = conv(p, "aligner.query_proj.4", F.relu(conv(p, "aligner.query_proj.2", F.relu(q))))
    scores = -TEMPERATURE * ((q[:, :, None, :] - keys[:, None, :, :]) ** 2).sum(-1)          # (B, T, P)
    scores = scores + (1 - pm)[:, None, :] * -1e4
    prior = torch.zeros(B, tw, pw, dtype=REF)
    for b in range(B):
        prior[b, : T_LENGTHS[b], : P_LENGTHS[b]] = torch.from_numpy(log_prior(T_LENGTHS[b], P_LENGTHS[b]))
    align = torch.log_softmax(scores, -1) + prior
    logits = torch.cat([torch.full((B, tw, 1), -1.0, dtype=REF), align], -1)
    targets = torch.zeros(B, pw, dtype=torch.long)
    for b in range(B):
        targets[b, : P_LENGTHS[b]] = torch.arange(1, P_LENGTHS[b] + 1)
    forward_sum = F.ctc_loss(torch.log_softmax(logits, -1).transpose(0, 1), targets, torch.tensor(T_LENGTHS),
                             torch.tensor(P_LENGTHS), reduction="mean", zero_infinity=True)
    durations = [maximum_path(align[b, : T_LENGTHS[b], : P_LENGTHS[b]].detach().numpy()) for b in range(B)]
    normalised = torch.log_softmax(align, -1)
    picked = []
    for b in range(B):
        path = np.repeat(np.arange(P_LENGTHS[b]), durations[b])
        picked += [normalised[b, t, path[t]] for t in range(T_LENGTHS[b])]
    binarization = -torch.stack(picked).mean()

    padded = torch.zeros(B, pw, dtype=torch.long)
    energy_targets = torch.zeros(B, pw, dtype=REF)
    for b in range(B):
        padded[b, : P_LENGTHS[b]] = torch.from_numpy(durations[b])
        t = 0
        for i, d in enumerate(durations[b]):
            energy_targets[b, i] = energy[b, t: t + d].mean()
            t += d
    # Encoder and variance adaptor.
    h = e * pm[:, :, None]
    h = fft_block(p, "encoder.layers.0", h, pm)
    log_durations = variance_predictor(p, "duration_predictor", h, pm)
    energy_predicted = variance_predictor(p, "variance_predictors.0", h, pm)
    h = h + conv(p, "variance_embeddings.0", energy_targets[:, :, None]) * pm[:, :, None]
    # Length regulator and decoder.
    expanded = torch.zeros(B, tw, C, dtype=REF)
    rows = [torch.repeat_interleave(h[b, : P_LENGTHS[b]], padded[b, : P_LENGTHS[b]], dim=0) for b in range(B)]
    expanded = torch.stack([F.pad(r, (0, 0, 0, tw - r.shape[0])) for r in rows])
    x = fft_block(p, "decoder.layers.0", expanded, fm)
    mel_predicted = F.linear(x, p["mel_linear.weight"], p["mel_linear.bias"]) * fm[:, :, None]

    real_frames, real_phonemes = sum(T_LENGTHS), sum(P_LENGTHS)
    mel_loss = (mel_predicted - mel).abs().sum() / (real_frames * MELS)
    duration_loss = ((log_durations - torch.log(padded.to(REF) + 1) * pm) ** 2).sum() / real_phonemes
    energy_loss = ((energy_predicted - energy_targets) ** 2).sum() / real_phonemes
    loss = mel_loss + duration_loss + energy_loss + forward_sum + BINARIZATION * binarization
    grads = torch.autograd.grad(loss, list(params.values()))

    def f32(t):
        return t.detach().to(torch.float32).contiguous()
    tensors = {"phonemes": phonemes.to(torch.int64), "phoneme_lengths": torch.tensor(P_LENGTHS),
               "frame_lengths": torch.tensor(T_LENGTHS), "mel": f32(mel), "energy": f32(energy),
               "durations": torch.cat([torch.from_numpy(d) for d in durations]),
               "loss": f32(loss.reshape(1)), "mel_loss": f32(mel_loss.reshape(1)),
               "duration_loss": f32(duration_loss.reshape(1)), "energy_loss": f32(energy_loss.reshape(1)),
               "alignment_loss": f32(forward_sum.reshape(1)), "binarization_loss": f32(binarization.reshape(1))}
    for (name, value), grad in zip(params.items(), grads):
        tensors[f"param.{name}"] = f32(value)
        tensors[f"grad.{name}"] = f32(grad)
    meta = {k: str(v) for k, v in dict(phonemes=PHONEMES, mels=MELS, d_model=C, heads=HEADS, hidden=HIDDEN,
                                       kernel=KERNEL, predictor_hidden=PRED_HIDDEN, predictor_kernel=PRED_KERNEL,
                                       alignment_dim=ALIGN_DIM, temperature=TEMPERATURE,
                                       binarization=BINARIZATION).items()}
    OUT.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(OUT / "fastspeech.safetensors"), metadata=meta)
    print("durations", [d.tolist() for d in durations], "loss", float(loss.detach()))


if __name__ == "__main__":
    main()
