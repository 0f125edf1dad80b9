"""Side-by-side benchmark: `pretrain bench` and the PyTorch reference scripts on the same configs, alternating
runs so both see the same machine state; prints medians and the ratio tables (markdown).

Needs torch (tokenizers for the tokenizer row, torchaudio for the fbank row). Run: python3 bench/compare.py [--rounds 3]
[--configs tiny,small,bert-tiny,bert-small,audio-small] [--modes default,flushed,bf16] (or `make bench`).
Uses .build/release/pretrain (build it first: swift build -c release --product pretrain).

fp32: ours against PyTorch fp32 as shipped ("default") and with denormals flushed ("flushed").
bf16: ours with `--precision bf16` (bf16 operands on AMX/AVX512-BF16, fp32 elsewhere; on a CPU without bf16
instructions it runs fp32 and says so in its JSON line) against PyTorch bf16 autocast with denormals flushed.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

CONFIGS = {
    "tiny": dict(arch="gpt2", layers=4, d_model=256, heads=4, seq=128, batch=16, vocab=4096),
    "small": dict(arch="gpt2", layers=6, d_model=512, heads=8, seq=256, batch=8, vocab=8192),
    "bert-tiny": dict(arch="bert", layers=4, d_model=256, heads=4, seq=128, batch=16, vocab=4096),
    "bert-small": dict(arch="bert", layers=6, d_model=512, heads=8, seq=256, batch=8, vocab=8192),
    # TERA's frame encoder: 256 positions of 2 stacked 80-bin fbank frames (5.12 s), L1 reconstruction.
    "audio-small": dict(arch="audio", layers=4, d_model=256, heads=4, seq=256, batch=16),
}


def flags(config):
    return [f"--{k.replace('_', '-')}={v}" for k, v in CONFIGS[config].items()]


def run(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def cpu_name():
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_has_bf16():
    """AVX512-BF16 or AMX: where both sides run bf16 natively (elsewhere PyTorch emulates it, minutes a step)."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def step_rows(a):
    modes = a.modes.split(",")
    fp32_modes = [m for m in modes if m != "bf16"]
    rows = []
    for config in a.configs.split(","):
        ours = {"fp32": [], "bf16": []}
        theirs = {m: [] for m in modes}
        for round_index in range(a.rounds):
            ours["fp32"].append(run([a.binary, "bench", "step", *flags(config), f"--steps={a.steps}"]))
            for m in fp32_modes:
                theirs[m].append(run([sys.executable, "bench/torch_reference.py", f"--mode={m}", *flags(config),
                                      f"--steps={a.steps}"]))
            if "bf16" in modes and round_index < a.bf16_rounds and config in a.bf16_configs.split(","):
                ours["bf16"].append(run([a.binary, "bench", "step", *flags(config), "--precision=bf16",
                                         f"--steps={a.bf16_steps}"]))
                theirs["bf16"].append(run([sys.executable, "bench/torch_reference.py", "--mode=bf16", *flags(config),
                                           f"--steps={a.bf16_steps}", "--warmup=1"]))
        row = {"config": config, "params": ours["fp32"][0]["params"]}
        for precision, results in ours.items():
            if results:
                row[f"ours_{precision}_ms"] = statistics.median(r["ms_per_step"] for r in results)
                row[f"ours_{precision}_rss"] = max(r["peak_rss_mb"] for r in results)
                row[f"ours_{precision}_ran"] = results[0]["precision"]
                row[f"ours_{precision}_mfu"] = statistics.median(r["mfu"] for r in results)
        for m in modes:
            if theirs[m]:
                row[f"{m}_ms"] = statistics.median(r["ms_per_step"] for r in theirs[m])
                row[f"{m}_rss"] = max(r["peak_rss_mb"] for r in theirs[m])
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows, fp32_modes, "bf16" in modes


def print_tables(rows, fp32_modes, with_bf16):
    header = "| config | params | swift-pretrain ms | " + " | ".join(
        f"torch {m} ms | speed-up vs {m}" for m in fp32_modes) + " | our MFU | our peak RSS MB | torch peak RSS MB |"
    print("fp32\n\n" + header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        cells = [r["config"], f"{r['params'] / 1e6:.2f} M", f"{r['ours_fp32_ms']:.0f}"]
        for m in fp32_modes:
            cells += [f"{r[m + '_ms']:.0f}", f"{r[m + '_ms'] / r['ours_fp32_ms']:.2f}×"]
        cells += [f"{r['ours_fp32_mfu']:.2f}", f"{r['ours_fp32_rss']:.0f}", f"{max(r[m + '_rss'] for m in fp32_modes):.0f}"]
        print("| " + " | ".join(cells) + " |")
    if not with_bf16:
        return
    # The MFU a 1.5× lead would take: above 1, faster than the GEMM ceiling measured beside the step.
    header = ("| config | swift-pretrain --precision bf16 ms (ran as) | torch bf16 autocast + flushed ms | speed-up "
              "| our MFU | MFU 1.5× would need | our peak RSS MB | torch peak RSS MB |")
    print("\nbf16\n\n" + header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        if "ours_bf16_ms" not in r:
            continue
        print(f"| {r['config']} | {r['ours_bf16_ms']:.0f} ({r['ours_bf16_ran']}) | {r['bf16_ms']:.0f} | "
              f"{r['bf16_ms'] / r['ours_bf16_ms']:.2f}× | {r['ours_bf16_mfu']:.2f} | "
              f"{r['ours_bf16_mfu'] * 1.5 * r['ours_bf16_ms'] / r['bf16_ms']:.2f} | {r['ours_bf16_rss']:.0f} | "
              f"{r['bf16_rss']:.0f} |")


def tokenizer_row(a):
    tokenizer = "data/shakespeare-4096/tokenizer.json"
    if not os.path.exists(tokenizer):
        subprocess.run([a.binary, "tokenize", "--train-vocab", "4096", "--val-files", "hamlet,tempest",
                        "--out", "data/shakespeare-4096", "data/shakespeare"], check=True, capture_output=True)
    ours, theirs = [], []
    for _ in range(a.rounds):
        ours.append(run([a.binary, "bench", "tokenizer", f"--tokenizer={tokenizer}", "data/shakespeare"]))
        theirs.append(run([sys.executable, "bench/tokenizer_reference.py", f"--tokenizer={tokenizer}",
                           "data/shakespeare"]))
    mine = statistics.median(r["mb_per_s"] for r in ours)
    hf = statistics.median(r["mb_per_s"] for r in theirs)
    same = "same tokens" if ours[0]["tokens"] == theirs[0]["tokens"] else \
        f"TOKEN COUNTS DIFFER: {ours[0]['tokens']} vs {theirs[0]['tokens']}"
    print("\ntokenizer (byte-level BPE, vocab 4096, data/shakespeare, encode only, one thread)\n")
    print("| swift-pretrain MB/s | HF tokenizers MB/s | speed-up | tokens |")
    print("|---|---|---|---|")
    print(f"| {mine:.2f} | {hf:.2f} | {mine / hf:.1f}× | {ours[0]['tokens']} ({same}) |")


def fbank_row(a):
    ours, theirs = [], []
    for _ in range(a.rounds):
        ours.append(run([a.binary, "bench", "fbank"]))
        theirs.append(run([sys.executable, "bench/fbank_reference.py"]))
    mine = statistics.median(r["realtime_factor"] for r in ours)
    reference = statistics.median(r["realtime_factor"] for r in theirs)
    print(f"\nKaldi fbank (80 bins, 25/10 ms, {ours[0]['clips']} clips of {ours[0]['audio_seconds'] / ours[0]['clips']:.0f} s, "
          f"{ours[0]['threads']} threads)\n")
    print("| swift-pretrain × real time | torchaudio kaldi.fbank × real time | speed-up | frames |")
    print("|---|---|---|---|")
    same = "same" if ours[0]["frames"] == theirs[0]["frames"] else f"DIFFER: {theirs[0]['frames']}"
    print(f"| {mine:.0f} | {reference:.0f} | {mine / reference:.1f}× | {ours[0]['frames']} ({same}) |")


def inference_rows(a, precisions):
    """Forward-only evaluation and greedy KV-cache generation (batch 1 and 8), alternating rounds, median tokens/s;
    fp32 against PyTorch flushed, bf16 against PyTorch's bf16 autocast (both under torch.inference_mode). Eval rows
    also show our MFU (the forward pass's GFLOP/s over the GEMM ceiling measured beside it) and the MFU a 1.5× lead
    would take."""
    print("\n| inference | precision | ours tokens/s | PyTorch tokens/s (inference_mode) | ratio | our MFU "
          "| MFU 1.5× would need |\n|---|---|---|---|---|---|---|")
    for config in a.inference_configs.split(","):
        for precision in precisions:
            for task, extra in [("eval", []), ("generate", ["--gen-batch=1"]), ("generate", ["--gen-batch=8"])]:
                ours, theirs, mfus = [], [], []
                for _ in range(a.rounds):
                    result = run([a.binary, "bench", task, f"--model={config}", *extra, "--repeats=3",
                                  f"--precision={precision}"])
                    ours.append(result["tokens_per_s"])
                    if "mfu" in result:
                        mfus.append(result["mfu"])
                    theirs.append(run([sys.executable, "bench/torch_reference.py", f"--task={task}", *flags(config),
                                       *extra, "--steps=3", "--warmup=1",
                                       f"--mode={'bf16' if precision == 'bf16' else 'flushed'}"])["tokens_per_s"])
                mine, their = statistics.median(ours), statistics.median(theirs)
                label = f"{config} {task}" + (f" batch {extra[0].split('=')[1]}" if extra else "")
                mfu = statistics.median(mfus) if mfus else None
                print(f"| {label} | {precision} | {mine:.0f} | {their:.0f} | {mine / their:.2f}× | "
                      + (f"{mfu:.2f} | {mfu * 1.5 * their / mine:.2f} |" if mfu is not None else "— | — |"))


def profile_table(a, config):
    """`pretrain bench --profile` beside bench/torch_reference.py --profile for one config, one round each."""
    bf16 = a.profile_precision == "bf16"
    ours = run([a.binary, "bench", "step", *flags(config), f"--steps={a.steps}", "--profile",
                f"--precision={a.profile_precision}"])["profile_ms"]
    theirs = run([sys.executable, "bench/torch_reference.py", f"--mode={'bf16' if bf16 else 'flushed'}", *flags(config),
                  f"--steps={a.steps}", "--profile"])["profile_ms"]
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; {config}, "
          f"{'bf16 (PyTorch bf16 autocast)' if bf16 else 'fp32 (PyTorch flushed)'}, mean ms per step over "
          f"{a.steps} profiled steps\n")
    print("| phase.kind | ours | PyTorch |\n|---|---|---|")
    keys = [k for k in ours if k not in ("step", "new_buffers")] + [k for k in theirs if k not in ours and k != "step"]
    for key in keys + ["step"]:
        cell = lambda d: f"{d[key]:.1f}" if key in d else "–"
        print(f"| {key} | {cell(ours)} | {cell(theirs)} |")
    print(f"\nours: {ours.get('new_buffers', 0):.1f} fresh buffers per step. 'output projection + loss' is our fused "
          "vocabulary projection and cross-entropy; PyTorch's vocabulary GEMM counts under gemm.")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--configs", default="tiny,small,bert-tiny,bert-small,audio-small")
    ap.add_argument("--modes", default="default,flushed,bf16")
    native = cpu_has_bf16()
    ap.add_argument("--bf16-rounds", type=int, default=None,
                    help="rounds of the bf16 pair (default: --rounds on a CPU with AVX512-BF16 or AMX, else 1: "
                         "PyTorch's bf16 is very slow on CPUs without them)")
    ap.add_argument("--bf16-steps", type=int, default=None, help="default: --steps with bf16 instructions, else 2")
    ap.add_argument("--bf16-configs", default="tiny,small,bert-small,audio-small" if native else "tiny,small",
                    help="configs that get the bf16 pair")
    ap.add_argument("--inference-configs", default="tiny,small", help="GPT configs of the eval and generate rows")
    ap.add_argument("--no-inference", action="store_true")
    ap.add_argument("--no-tokenizer", action="store_true")
    ap.add_argument("--no-fbank", action="store_true")
    ap.add_argument("--binary", default=".build/release/pretrain")
    ap.add_argument("--profile", metavar="CONFIG",
                    help="only the step's time by op kind for CONFIG, ours beside PyTorch's, side by side")
    ap.add_argument("--profile-precision", default="fp32", choices=["fp32", "bf16"],
                    help="fp32 (PyTorch flushed) or bf16 (ours --precision bf16, PyTorch bf16 autocast)")
    a = ap.parse_args()
    if a.bf16_rounds is None:
        a.bf16_rounds = a.rounds if native else 1
    if a.bf16_steps is None:
        a.bf16_steps = a.steps if native else 2
    if a.profile:
        return profile_table(a, a.profile)
    rows, fp32_modes, with_bf16 = step_rows(a)
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; {a.rounds} alternating rounds, median ms per step "
          f"({a.steps} timed steps each; bf16: {a.bf16_rounds} round(s) of {a.bf16_steps})\n")
    print_tables(rows, fp32_modes, with_bf16)
    if not a.no_inference:
        # bf16 inference rows only where both sides run bf16 natively (PyTorch's emulation takes minutes)
        inference_rows(a, ["fp32", "bf16"] if native and "bf16" in a.modes.split(",") else ["fp32"])
    if not a.no_tokenizer:
        tokenizer_row(a)
    if not a.no_fbank:
        fbank_row(a)


if __name__ == "__main__":
    main()
