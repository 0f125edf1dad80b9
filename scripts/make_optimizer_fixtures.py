"""Reference trajectories of torch.optim.SGD and torch.optim.AdamW for the Swift optimiser tests.

Needs torch and safetensors. Run: python3 scripts/make_optimizer_fixtures.py
Writes Tests/LayersTests/Fixtures/optimizers.safetensors with, for a weight (5, 4) and a bias (4):
  init.weight, init.bias            starting values
  grad.<step>.weight/.bias          the gradient fed at each of 5 steps (fixed, not from a loss)
  <optimizer>.weight/.bias          parameters after 5 steps, for each configuration in CONFIGS
Weight decay applies to the weight only (a second parameter group for the bias has none), and the
learning rate is halved after step 3 to check that a changed rate is picked up.
"""
import json
import pathlib

import torch
from safetensors.torch import save_file

CONFIGS = {
    "sgd": lambda groups: torch.optim.SGD(groups, lr=0.1),
    "sgd_momentum": lambda groups: torch.optim.SGD(groups, lr=0.1, momentum=0.9),
    "sgd_nesterov": lambda groups: torch.optim.SGD(groups, lr=0.1, momentum=0.9, nesterov=True),
    "adamw": lambda groups: torch.optim.AdamW(groups, lr=0.01, betas=(0.9, 0.95), eps=1e-8),
}
STEPS = 5


def main():
    torch.manual_seed(0)
    init = {"weight": torch.randn(5, 4), "bias": torch.randn(4)}
    grads = [{name: torch.randn_like(value) for name, value in init.items()} for _ in range(STEPS)]
    tensors = {f"init.{n}": v.clone() for n, v in init.items()}
    for step, g in enumerate(grads):
        tensors.update({f"grad.{step}.{n}": v.clone() for n, v in g.items()})
    for config, make in CONFIGS.items():
        params = {n: v.clone().requires_grad_(True) for n, v in init.items()}
        optimizer = make([{"params": [params["weight"]], "weight_decay": 0.01},
                          {"params": [params["bias"]], "weight_decay": 0.0}])
        for step, g in enumerate(grads):
            if step == 3:
                for group in optimizer.param_groups:
                    group["lr"] *= 0.5
            for n, p in params.items():
                p.grad = g[n].clone()
            optimizer.step()
        tensors.update({f"{config}.{n}": p.detach().clone() for n, p in params.items()})
    out = pathlib.Path(__file__).resolve().parent.parent / "Tests/LayersTests/Fixtures/optimizers.safetensors"
    save_file({k: v.contiguous() for k, v in sorted(tensors.items())}, str(out),
              metadata={"steps": str(STEPS), "configs": json.dumps(sorted(CONFIGS)), "torch": torch.__version__})
    print("wrote", out)


if __name__ == "__main__":
    main()
