#!/usr/bin/env python3
"""Learning parity: the tiny GPT of Tests/TrainingTests/LearningParityTests.swift trained by PyTorch.

Writes Tests/TrainingTests/Fixtures/train_parity.safetensors, which the Swift test replays through our Trainer:

  param.<name>   initial weights (Hugging Face GPT2LMHeadModel names, nn.Linear (out, in) layout, tied lm_head)
  train_tokens   U8 (N,)  the train shard: UTF-8 bytes of the train text (a byte-level "tokenizer", vocab 256)
  val_tokens     U8 (M,)  the val shard
  loss           F32 (steps,)  mean micro-batch loss of each update (before the update), as metrics.jsonl logs it
  grad_norm      F32 (steps,)  global gradient norm before clipping
  lr             F32 (steps,)  learning rate of each update
  val_loss       F32 (1,)      mean loss over every val window after the last update
  metadata       the model, optimiser, schedule and data settings (strings)

Same batches: the windows are drawn exactly as our TokenBatcher draws them. Its generator is xoshiro256** seeded
by SplitMix64 (Sources/Tensors/Core/Random.swift); the trainer seeds the data stream with
seed + 1 * 0x9E3779B97F4A7C15 (Trainer.Stream.data), and each window of a single shard of n tokens starts at
next() % (n - context). An update takes grad_accum micro-batches of batch_size windows, in that order. Evaluation
windows start at 0, context, 2*context, ... (each token is predicted once), as evaluationBatches.

Same schedule: linear warmup lr*(step+1)/warmup, then cosine to min_lr at `steps` (LearningRateSchedule.cosine),
rounded to float32 as our trainer does. Same optimiser: AdamW, decay on ndim >= 2 only, clip_grad_norm_.

Usage: python3 scripts/train_parity.py   (needs torch, numpy, safetensors; about 10 s on two cores)
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "train_parity.safetensors")
SHAKESPEARE = os.path.join(ROOT, "data", "shakespeare")

CONFIG = dict(vocab_size=256, context=32, layers=2, d_model=64, heads=4, batch_size=8, grad_accum=2, steps=200,
              lr=3e-3, min_lr=3e-4, warmup=20, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, clip=1.0,
              seed=1234, init_seed=0)
TRAIN_TEXT = ["julius_caesar.txt"]      # whole plays
VAL_TEXT = ("tempest.txt", 20000)       # the first bytes of a held-out play

MASK = (1 << 64) - 1


class Xoshiro256:
    """RandomGenerator of Sources/Tensors/Core/Random.swift."""

    def __init__(self, seed):
        mix = seed & MASK

        def split_mix():
            nonlocal mix
            mix = (mix + 0x9E3779B97F4A7C15) & MASK
            z = mix
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            return z ^ (z >> 31)

        self.s = [split_mix() for _ in range(4)]

    @staticmethod
    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK

    def next(self):
        s = self.s
        result = (self.rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self.rotl(s[3], 45)
        return result

    def next_int(self, bound):
        return self.next() % bound


def learning_rate(step, c):
    """LearningRateSchedule.cosine(maxLR: lr, minLR: min_lr, warmup:, total: steps): float32 settings, arithmetic
    in float64, the result rounded to float32."""
    peak, floor = float(np.float32(c["lr"])), float(np.float32(c["min_lr"]))
    if step < c["warmup"]:
        value = peak * (step + 1) / c["warmup"]
    else:
        progress = min(1.0, max(0.0, (step - c["warmup"]) / (c["steps"] - c["warmup"])))
        value = floor + 0.5 * (1 + math.cos(math.pi * progress)) * (peak - floor)
    return float(np.float32(value))


def init_params(c):
    """GPT-2 initialisation (Initializer.gpt2): N(0, 0.02), residual projections N(0, 0.02/sqrt(2L)), biases 0, LN 1/0."""
    g = torch.Generator().manual_seed(c["init_seed"])
    V, P, C, L = c["vocab_size"], c["context"], c["d_model"], c["layers"]

    def normal(*shape, std=0.02):
        return torch.randn(*shape, generator=g) * std

    p = {"transformer.wte.weight": normal(V, C), "transformer.wpe.weight": normal(P, C)}
    for i in range(L):
        h = f"transformer.h.{i}."
        p.update({
            h + "ln_1.weight": torch.ones(C), h + "ln_1.bias": torch.zeros(C),
            h + "attn.c_attn.weight": normal(3 * C, C), h + "attn.c_attn.bias": torch.zeros(3 * C),
            h + "attn.c_proj.weight": normal(C, C, std=0.02 / math.sqrt(2 * L)), h + "attn.c_proj.bias": torch.zeros(C),
            h + "ln_2.weight": torch.ones(C), h + "ln_2.bias": torch.zeros(C),
            h + "mlp.c_fc.weight": normal(4 * C, C), h + "mlp.c_fc.bias": torch.zeros(4 * C),
            h + "mlp.c_proj.weight": normal(C, 4 * C, std=0.02 / math.sqrt(2 * L)), h + "mlp.c_proj.bias": torch.zeros(C),
        })
    p["transformer.ln_f.weight"] = torch.ones(C)
    p["transformer.ln_f.bias"] = torch.zeros(C)
    return p


def forward(p, tokens, c):
    """GPT2LMHeadModel: learned positions, pre-LN blocks, GELU (tanh), tied head. tokens (B, T) -> logits (B, T, V)."""
    B, T = tokens.shape
    C, H = c["d_model"], c["heads"]
    x = F.embedding(tokens, p["transformer.wte.weight"]) + p["transformer.wpe.weight"][:T]
    for i in range(c["layers"]):
        h = f"transformer.h.{i}."
        a = F.layer_norm(x, (C,), p[h + "ln_1.weight"], p[h + "ln_1.bias"], 1e-5)
        q, k, v = F.linear(a, p[h + "attn.c_attn.weight"], p[h + "attn.c_attn.bias"]).split(C, dim=-1)
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        x = x + F.linear(a, p[h + "attn.c_proj.weight"], p[h + "attn.c_proj.bias"])
        m = F.layer_norm(x, (C,), p[h + "ln_2.weight"], p[h + "ln_2.bias"], 1e-5)
        m = F.gelu(F.linear(m, p[h + "mlp.c_fc.weight"], p[h + "mlp.c_fc.bias"]), approximate="tanh")
        x = x + F.linear(m, p[h + "mlp.c_proj.weight"], p[h + "mlp.c_proj.bias"])
    x = F.layer_norm(x, (C,), p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], 1e-5)
    return x @ p["transformer.wte.weight"].t()


def causal_loss(p, windows, c):
    """windows (B, T+1): inputs [:, :-1], targets [:, 1:], mean cross-entropy."""
    logits = forward(p, windows[:, :-1], c)
    return F.cross_entropy(logits.reshape(-1, c["vocab_size"]), windows[:, 1:].reshape(-1))


def main():
    c = CONFIG
    torch.set_num_threads(2)
    train = np.frombuffer(b"".join(open(os.path.join(SHAKESPEARE, name), "rb").read() for name in TRAIN_TEXT), np.uint8)
    val = np.frombuffer(open(os.path.join(SHAKESPEARE, VAL_TEXT[0]), "rb").read()[:VAL_TEXT[1]], np.uint8)
    T, B = c["context"], c["batch_size"]

    # TokenBatcher, random sampling, one shard.
    data_stream = Xoshiro256((c["seed"] + 1 * 0x9E3779B97F4A7C15) & MASK)
    starts = len(train) - T

    def next_batch():
        rows = [train[s:s + T + 1] for s in (data_stream.next_int(starts) for _ in range(B))]
        return torch.from_numpy(np.stack(rows).astype(np.int64))

    init = init_params(c)
    p = {k: v.clone().requires_grad_(True) for k, v in init.items()}
    decay = [v for v in p.values() if v.dim() >= 2]
    no_decay = [v for v in p.values() if v.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": c["weight_decay"]},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=c["lr"], betas=(c["beta1"], c["beta2"]), eps=c["eps"], foreach=False)
    losses, norms, rates = [], [], []
    for step in range(c["steps"]):
        lr = learning_rate(step, c)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for _ in range(c["grad_accum"]):
            loss = causal_loss(p, next_batch(), c)
            (loss / c["grad_accum"]).backward()
            total += loss.item()
        norm = torch.nn.utils.clip_grad_norm_(list(p.values()), c["clip"], foreach=False)
        optimizer.step()
        losses.append(total / c["grad_accum"])
        norms.append(norm.item())
        rates.append(lr)

    # evaluationBatches: windows at 0, T, 2T, ...; the mean over every predicted token.
    windows = np.stack([val[s:s + T + 1] for s in range(0, len(val) - T, T) if s + T + 1 <= len(val)])
    with torch.no_grad():
        total, count = 0.0, 0
        for i in range(0, len(windows), B):
            batch = torch.from_numpy(windows[i:i + B].astype(np.int64))
            total += causal_loss(p, batch, c).item() * batch.shape[0] * T
            count += batch.shape[0] * T
    val_loss = total / count

    tensors = {f"param.{k}": v.numpy().astype(np.float32) for k, v in init.items()}
    tensors.update({"train_tokens": train.copy(), "val_tokens": val.copy(),
                    "loss": np.array(losses, np.float32), "grad_norm": np.array(norms, np.float32),
                    "lr": np.array(rates, np.float32), "val_loss": np.array([val_loss], np.float32)})
    metadata = {k: json.dumps(v) for k, v in c.items()}
    metadata.update({"train_text": json.dumps(TRAIN_TEXT), "val_text": json.dumps(list(VAL_TEXT)),
                     "val_loss": repr(val_loss), "torch": torch.__version__,
                     "schedule": "cosine: warmup lr*(step+1)/warmup, cosine to min_lr at steps"})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file(tensors, OUT, metadata=metadata)
    print(f"wrote {OUT}: loss {losses[0]:.4f} -> {losses[-1]:.4f}, val loss {val_loss:.4f} "
          f"({len(windows)} val windows)")


if __name__ == "__main__":
    main()
