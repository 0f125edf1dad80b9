#!/usr/bin/env python3
"""Print docs/DISTRIBUTED.md's projection tables: data-parallel scaling efficiency from the alpha-beta model.

A MODEL, not a measurement. Inputs: the measured single-core step times below (`pretrain bench step --model tiny
--threads 1`, `--model small --threads 1`; 2048 tokens per step), the 125M model's step extrapolated from small by
FLOPs (6 * params * tokens), and assumed Ethernet parameters (NETWORKS). Run: python3 scripts/distributed_projection.py
"""

# name: (parameters, seconds per 2048-token step on one core: the faster of two measured runs, or extrapolated)
SMALL_PARAMETERS, SMALL_SECONDS = 23_240_704, 1.67257
MODELS = {
    "tiny": (4_240_896, 0.33544),
    "small": (SMALL_PARAMETERS, SMALL_SECONDS),
    "GPT-2 125M": (124_439_808, SMALL_SECONDS * 124_439_808 / SMALL_PARAMETERS),
}
# name: (alpha seconds per message, bytes/s): TCP goodput of 94 % of the line rate (1448 payload bytes per 1538 on
# the wire at MTU 1500); alpha assumed (see the doc).
NETWORKS = {"10 GbE": (30e-6, 10e9 / 8 * 0.94), "100 GbE": (15e-6, 100e9 / 8 * 0.94)}
NODES = [2, 8, 64]
CORES = [1, 32]


def ring(nodes, nbytes, alpha, bandwidth, phases=2):
    """Ring all-reduce (phases=2) or one of reduce-scatter / all-gather (phases=1): (n-1) steps per phase."""
    return phases * (nodes - 1) * alpha + phases * (nodes - 1) / nodes * nbytes / bandwidth


def efficiencies(step, parameters, gradient_bytes, nodes, alpha, bandwidth):
    """Compute time over step time, for: all-reduce after backward; all-reduce overlapped with backward (2/3 of the
    step, ideal overlap); ZeRO-1 (reduce-scatter of gradients, all-gather of the fp32 parameters after the update);
    ZeRO-1 with the reduce-scatter overlapped (the all-gather follows the update, so it stays exposed)."""
    allreduce = ring(nodes, parameters * gradient_bytes, alpha, bandwidth)
    scatter = ring(nodes, parameters * gradient_bytes, alpha, bandwidth, phases=1)
    gather = ring(nodes, parameters * 4, alpha, bandwidth, phases=1)
    backward = 2 * step / 3
    return [step / (step + allreduce), step / (step - backward + max(backward, allreduce)),
            step / (step + scatter + gather), step / (step - backward + max(backward, scatter) + gather)]


def main():
    print("All-reduce time per step (ms), ring model\n")
    print("| model | params | network | grads | " + " | ".join(f"{n} nodes" for n in NODES) + " |")
    print("|---|---|---|---|" + "---|" * len(NODES))
    for name, (parameters, _) in MODELS.items():
        for network, (alpha, bandwidth) in NETWORKS.items():
            for dtype, size in [("fp32", 4), ("bf16", 2)]:
                cells = [f"{ring(n, parameters * size, alpha, bandwidth) * 1e3:.1f}" for n in NODES]
                print(f"| {name} | {parameters / 1e6:.1f} M | {network} | {dtype} | " + " | ".join(cells) + " |")
    for cores in CORES:
        step_words = "the single-core step" if cores == 1 else f"the single-core step / {cores}"
        print(f"\nScaling efficiency (%), {cores} core{'s' if cores > 1 else ''} per node ({step_words}): "
              "all-reduce / overlapped / ZeRO-1 / ZeRO-1 overlapped\n")
        print("| model | step | network | grads | " + " | ".join(f"{n} nodes" for n in NODES) + " |")
        print("|---|---|---|---|" + "---|" * len(NODES))
        for name, (parameters, seconds) in MODELS.items():
            step = seconds / cores
            for network, (alpha, bandwidth) in NETWORKS.items():
                for dtype, size in [("fp32", 4), ("bf16", 2)]:
                    cells = []
                    for n in NODES:
                        cells.append(" / ".join(f"{e:.0%}".replace("%", "") for e in
                                                efficiencies(step, parameters, size, n, alpha, bandwidth)))
                    print(f"| {name} | {step * 1e3:.0f} ms | {network} | {dtype} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
