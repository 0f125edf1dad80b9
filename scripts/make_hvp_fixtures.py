#!/usr/bin/env python3
"""Reference Hessian quantities of a tiny GPT's pre-training loss, for the Swift flatness tests.

Writes Tests/TrainingTests/Fixtures/hvp.safetensors (Tests/TrainingTests/FlatnessTests.swift reads it):

  param.<name>        the weights (Hugging Face GPT2LMHeadModel names, nn.Linear (out, in) layout, tied lm_head):
                      the tiny GPT after TRAIN_STEPS AdamW steps on a toy token chain, so that the Hessian is taken
                      near a trained point, as `pretrain flatness` takes it
  batch.<i>           I64 (B_i, T+1) the fixed evaluation windows; the loss is the mean cross-entropy over every
                      predicted token of all of them (a batch weighs what it predicts, as evaluationBatches' short
                      last batch does in `pretrain eval`); the batches have different sizes on purpose
  vector.<k>.<name>   the directions v_k, per parameter: k = 0 a Rademacher vector, 1 a Gaussian one, 2 the unit
                      vector of the Hessian's top eigenvalue
  hvp.<k>.<name>      H v_k by torch.autograd.functional.hvp (exact double backward)
  eigenvalues         F32 (n,) every eigenvalue of the full Hessian (torch.linalg.eigvalsh), ascending
  metadata            the model settings; trace, the exact trace of the full Hessian
                      (torch.autograd.functional.hessian), top_eigenvalue and hutchinson_variance
                      (2 Σ_{i≠j} H_ij², the variance of one Rademacher sample of vᵀHv) as repr'd float64; torch

The short training runs in float32; every reference is then computed in float64 from the float32 weights and
directions that the file stores, so it is exact for them up to float64 rounding. The forward is scripts/train_parity.py's (the tested twin of our GPTModel)
with its attention written out.

Usage: python3 scripts/make_hvp_fixtures.py   (needs torch, numpy, safetensors; about a minute on two cores)
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_parity import init_params  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "hvp.safetensors")

CONFIG = dict(vocab_size=16, context=8, layers=1, d_model=8, heads=2, init_seed=7)
BATCH_ROWS = (4, 2)      # rows of each evaluation batch
TRAIN_STEPS = 150
SEED = 2024


def forward(p, tokens, c):
    """scripts/train_parity.py's GPT2LMHeadModel with attention written out: PyTorch's fused CPU attention has no
    double backward. tokens (B, T) -> logits (B, T, V)."""
    B, T = tokens.shape
    C, H = c["d_model"], c["heads"]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    x = F.embedding(tokens, p["transformer.wte.weight"]) + p["transformer.wpe.weight"][:T]
    for i in range(c["layers"]):
        h = f"transformer.h.{i}."
        a = F.layer_norm(x, (C,), p[h + "ln_1.weight"], p[h + "ln_1.bias"], 1e-5)
        q, k, v = F.linear(a, p[h + "attn.c_attn.weight"], p[h + "attn.c_attn.bias"]).split(C, dim=-1)
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
        a = (scores.masked_fill(~causal, float("-inf")).softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
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


def toy_chain(count, generator):
    """A chain over the vocabulary with a few likely successors per token, so that the model has something to fit."""
    V = CONFIG["vocab_size"]
    tokens, current = [], 1
    steps = torch.randint(0, 10, (count,), generator=generator).tolist()
    for draw in steps:
        current = (current * 5 + [1, 2, 3][draw % 3] + (draw == 9) * 7) % V
        tokens.append(current)
    return torch.tensor(tokens, dtype=torch.int64)


def windows(stream, rows, T, generator):
    starts = torch.randint(0, len(stream) - T, (rows,), generator=generator).tolist()
    return torch.stack([stream[s:s + T + 1] for s in starts])


def main():
    torch.set_num_threads(2)
    c = CONFIG
    T = c["context"]
    g = torch.Generator().manual_seed(SEED)
    train, val = toy_chain(4000, g), toy_chain(400, g)

    # A short AdamW run in float32, as our trainer would take it.
    p = {k: v.clone().requires_grad_(True) for k, v in init_params(c).items()}
    optimizer = torch.optim.AdamW(list(p.values()), lr=3e-2, weight_decay=0.0, foreach=False)
    for _ in range(TRAIN_STEPS):
        optimizer.zero_grad(set_to_none=True)
        causal_loss(p, windows(train, 16, T, g), c).backward()
        optimizer.step()
    weights = {k: v.detach().clone() for k, v in p.items()}

    names = list(weights)
    shapes = [weights[k].shape for k in names]
    sizes = [weights[k].numel() for k in names]
    theta = torch.cat([weights[k].reshape(-1) for k in names]).double()
    batches = [windows(val, rows, T, g) for rows in BATCH_ROWS]
    predicted = [b.shape[0] * T for b in batches]

    def unflatten(flat):
        return {k: t.view(s) for k, t, s in zip(names, flat.split(sizes), shapes)}

    def loss(flat):
        params = unflatten(flat)
        total = sum(causal_loss(params, b, c) * n for b, n in zip(batches, predicted))
        return total / sum(predicted)

    hessian = torch.autograd.functional.hessian(loss, theta, vectorize=True)
    hessian = 0.5 * (hessian + hessian.T)
    eigenvalues = torch.linalg.eigvalsh(hessian)
    eigenvectors = torch.linalg.eigh(hessian).eigenvectors
    top = int(torch.argmax(eigenvalues.abs()))
    trace = float(torch.trace(hessian))
    off_diagonal = hessian - torch.diag(torch.diag(hessian))
    variance = float(2 * (off_diagonal ** 2).sum())

    n = theta.numel()
    vectors = [torch.randint(0, 2, (n,), generator=g).double() * 2 - 1,
               torch.randn(n, generator=g).double(),
               eigenvectors[:, top].clone()]
    tensors = {f"param.{k}": v.numpy().astype(np.float32) for k, v in weights.items()}
    tensors.update({f"batch.{i}": b.numpy().astype(np.int64) for i, b in enumerate(batches)})
    for index, v in enumerate(vectors):
        v = v.float().double()    # the float32 direction the Swift test reads
        _, product = torch.autograd.functional.hvp(loss, theta, v)
        for k, part in unflatten(v).items():
            tensors[f"vector.{index}.{k}"] = part.numpy().astype(np.float32)
        for k, part in unflatten(product).items():
            tensors[f"hvp.{index}.{k}"] = part.numpy().astype(np.float32)
        # The full Hessian and the hvp agree (two independent torch paths).
        assert torch.allclose(hessian @ v, product, rtol=1e-8, atol=1e-10), index
    tensors["eigenvalues"] = eigenvalues.numpy().astype(np.float32)

    metadata = {k: json.dumps(v) for k, v in c.items()}
    metadata.update({"batch_rows": json.dumps(list(BATCH_ROWS)), "loss": repr(float(loss(theta))),
                     "trace": repr(trace), "top_eigenvalue": repr(float(eigenvalues[top])),
                     "hutchinson_variance": repr(variance), "parameters": str(n), "torch": torch.__version__})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file(tensors, OUT, metadata=metadata)
    os.chmod(OUT, 0o644)
    second = float(eigenvalues.abs().sort().values[-2])
    print(f"wrote {OUT}: {n} parameters, loss {float(loss(theta)):.4f}, trace {trace:.4f}, "
          f"top eigenvalue {float(eigenvalues[top]):.4f} (next |λ| {second:.4f}), "
          f"Hutchinson sd per sample {variance ** 0.5:.4f}")


if __name__ == "__main__":
    main()
