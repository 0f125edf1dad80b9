#!/usr/bin/env python3
"""Composition fixtures for Tests/CompositionTests, computed in PyTorch on Hugging Face models.

Needs torch, safetensors and transformers.

    python3 scripts/make_compose_fixtures.py

Writes Tests/CompositionTests/Fixtures/compose/:

  large_base/, small_tuned/, small_base/   tiny random GPT2LMHeadModels sharing a vocabulary of 64 ids (the "large"
                                           one 2 layers × 32, the small ones 1 layer × 16), save_pretrained
  compose.json                             the token batch, the compositions' weights, and each composition's greedy
                                           continuation of a prompt (recomputed from the whole sequence every step)
  expected.safetensors                     per composition k, `log_probs_k` (B, T, V): the composed next-token
                                           log-probabilities at every position

A composition with weights w over models i is emulated fine-tuning's arithmetic (Mitchell et al. 2024) in
log-probability space, normalised per step:

    log p(x_t | x_<t) = log_softmax( Σ_i w_i · log_softmax(logits_i) )

computed here in float64 from each model's float32 logits. The Swift test imports the same weights, composes them with
`ComposedDecoder` (whole sequences, and through the models' KV caches in chunks) and checks every log-probability
within 1e-5 and the greedy continuations exactly.
"""
import json
import os

import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "CompositionTests", "Fixtures", "compose")
VOCAB, POSITIONS = 64, 32
NAMES = ["large_base", "small_tuned", "small_base"]
# Up-scaling (β = 1), a half-strength difference, and the large model alone.
COMPOSITIONS = [[1.0, 1.0, -1.0], [1.0, 0.5, -0.5], [1.0, 0.0, 0.0]]


def model(layers, width, generator):
    config = GPT2Config(vocab_size=VOCAB, n_positions=POSITIONS, n_embd=width, n_layer=layers, n_head=2,
                        bos_token_id=0, eos_token_id=0, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    gpt = GPT2LMHeadModel(config)
    with torch.no_grad():
        for name, p in gpt.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.3)
            elif ".ln_" in name and name.endswith("weight"):
                p.copy_(1 + torch.randn(p.shape, generator=generator) * 0.1)
            else:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
    return gpt.eval()


def composed(models, weights, tokens):
    with torch.no_grad():
        total = sum(w * torch.log_softmax(m(tokens).logits.double(), dim=-1) for m, w in zip(models, weights))
    return torch.log_softmax(total, dim=-1)


def greedy(models, weights, prompt, steps):
    ids = list(prompt)
    for _ in range(steps):
        ids.append(int(composed(models, weights, torch.tensor([ids]))[0, -1].argmax()))
    return ids[len(prompt):]


def main():
    os.makedirs(OUT, exist_ok=True)
    generator = torch.Generator().manual_seed(23)
    models = [model(2, 32, generator), model(1, 16, generator), model(1, 16, generator)]
    for name, m in zip(NAMES, models):
        m.save_pretrained(os.path.join(OUT, name))
        os.remove(os.path.join(OUT, name, "generation_config.json"))
    tokens = torch.randint(0, VOCAB, (2, 20), generator=generator)
    prompt = [int(t) for t in torch.randint(0, VOCAB, (4,), generator=generator)]
    expected, report = {}, {"torch": torch.__version__, "names": NAMES, "tokens": tokens.tolist(), "prompt": prompt,
                            "tolerance": 1e-5, "compositions": []}
    for k, weights in enumerate(COMPOSITIONS):
        expected[f"log_probs_{k}"] = composed(models, weights, tokens).float().contiguous()
        report["compositions"].append({"weights": weights, "greedy": greedy(models, weights, prompt, 12)})
        print(k, weights, report["compositions"][-1]["greedy"])
    save_file(expected, os.path.join(OUT, "expected.safetensors"))
    with open(os.path.join(OUT, "compose.json"), "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
