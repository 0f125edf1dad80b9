#!/usr/bin/env python3
"""PyTorch reference for `ctcLoss` (Tests/TensorsTests/CTCTests.swift): torch.nn.functional.ctc_loss on
log_softmax(logits), blank 0, reduction "mean" (each loss divided by its target length, then averaged) and
"sum", zero_infinity on; computed in float64 from float32 logits.

Writes Tests/TensorsTests/Fixtures/ctc.safetensors. Needs torch and safetensors.
Keys per case c: c.logits (B, T, C), c.logit_lengths (B), c.targets (B, S, padded with -1),
c.target_lengths (B), c.loss_mean, c.loss_sum (scalars), c.grad_mean (B, T, C) = d loss_mean / d logits.
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "TensorsTests", "Fixtures", "ctc.safetensors")

CASES = {
    # name: (batch, time, classes, target lengths, logit lengths)
    "basic": (2, 12, 5, [3, 5], [12, 10]),
    "repeats": (3, 16, 4, [6, 4, 1], [16, 16, 7]),   # repeated labels need blanks between them
    "infeasible": (2, 5, 4, [2, 6], [5, 5]),         # second target longer than its frames: zeroed
    "wide": (2, 40, 30, [12, 20], [40, 33]),
}


def main():
    tensors = {}
    for index, (name, (b, t, c, target_lengths, logit_lengths)) in enumerate(CASES.items()):
        torch.manual_seed(100 + index)
        logits = (torch.randn(b, t, c) * 2).float()
        longest = max(target_lengths)
        targets = torch.full((b, longest), -1, dtype=torch.int64)
        for row, length in enumerate(target_lengths):
            labels = torch.randint(1, c, (length,))
            if name == "repeats" and length > 2:
                labels[1] = labels[0]   # a doubled label
            targets[row, :length] = labels
        x = logits.double().requires_grad_(True)
        log_probs = F.log_softmax(x, dim=-1).transpose(0, 1)   # (T, B, C)
        padded = targets.clamp(min=0)
        args = (log_probs, padded, torch.tensor(logit_lengths), torch.tensor(target_lengths))
        loss_mean = F.ctc_loss(*args, blank=0, reduction="mean", zero_infinity=True)
        (grad,) = torch.autograd.grad(loss_mean, x)
        loss_sum = F.ctc_loss(*args, blank=0, reduction="sum", zero_infinity=True)
        tensors[f"{name}.logits"] = logits
        tensors[f"{name}.logit_lengths"] = torch.tensor(logit_lengths, dtype=torch.int64)
        tensors[f"{name}.targets"] = targets
        tensors[f"{name}.target_lengths"] = torch.tensor(target_lengths, dtype=torch.int64)
        tensors[f"{name}.loss_mean"] = loss_mean.detach().float().reshape([])
        tensors[f"{name}.loss_sum"] = loss_sum.detach().float().reshape([])
        tensors[f"{name}.grad_mean"] = grad.float()
    save_file(tensors, OUT, metadata={"cases": ",".join(CASES), "torch": torch.__version__})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
