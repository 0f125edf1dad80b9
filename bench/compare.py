"""Side-by-side benchmark: `pretrain bench` and bench/torch_reference.py on the same configs, alternating runs
so both see the same machine state; prints medians and the ratio table (markdown).

Needs torch. Run: python3 bench/compare.py [--rounds 3] [--configs tiny,small] [--modes default,flushed]
(or `make bench`). Uses .build/release/pretrain (build it first: swift build -c release --product pretrain).
"""
import argparse
import json
import platform
import statistics
import subprocess
import sys

CONFIGS = {
    "tiny": dict(layers=4, d_model=256, heads=4, seq=128, batch=16, vocab=4096),
    "small": dict(layers=6, d_model=512, heads=8, seq=256, batch=8, vocab=8192),
}


def flags(config):
    return [f"--{k.replace('_', '-')}={v}" for k, v in CONFIGS[config].items()]


def run(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--configs", default="tiny,small")
    ap.add_argument("--modes", default="default,flushed")
    ap.add_argument("--binary", default=".build/release/pretrain")
    a = ap.parse_args()
    modes = a.modes.split(",")
    rows = []
    for config in a.configs.split(","):
        ours, theirs = [], {m: [] for m in modes}
        for _ in range(a.rounds):
            ours.append(run([a.binary, "bench", *flags(config), f"--steps={a.steps}"]))
            for m in modes:
                theirs[m].append(run([sys.executable, "bench/torch_reference.py", f"--mode={m}",
                                      *flags(config), f"--steps={a.steps}"]))
        ms = statistics.median(r["ms_per_step"] for r in ours)
        rss = max(r["peak_rss_mb"] for r in ours)
        row = {"config": config, "ours_ms": ms, "ours_rss": rss}
        for m in modes:
            row[f"{m}_ms"] = statistics.median(r["ms_per_step"] for r in theirs[m])
            row[f"{m}_rss"] = max(r["peak_rss_mb"] for r in theirs[m])
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    print(f"machine: {platform.processor() or platform.machine()}, {a.rounds} alternating rounds, "
          f"median ms per step ({a.steps} timed steps each)\n")
    header = "| config | swift-pretrain ms | " + " | ".join(f"torch {m} ms | speed-up vs {m}" for m in modes) \
        + " | our peak RSS MB | torch peak RSS MB |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        cells = [r["config"], f"{r['ours_ms']:.0f}"]
        for m in modes:
            cells += [f"{r[m + '_ms']:.0f}", f"{r[m + '_ms'] / r['ours_ms']:.2f}×"]
        cells += [f"{r['ours_rss']:.0f}", f"{max(r[m + '_rss'] for m in modes):.0f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
