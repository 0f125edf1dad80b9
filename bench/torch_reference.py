"""PyTorch reference for `pretrain bench`: the same models (GPT-2-style causal LM, BERT masked LM, TERA's frame
encoder on fbank frames), shapes, optimiser and FLOP formula.

Needs torch. Run: python3 bench/torch_reference.py [--arch gpt2|bert|audio] [--mode default|flushed|bf16] [--layers 4 ...]
Prints one JSON line like `pretrain bench`: tokens_per_s, ms_per_step (median), gflops, peak_rss_mb.
Modes: default = fp32 as torch ships; flushed = fp32 with torch.set_flush_denormal(True);
bf16 = bf16 autocast on top of flushed. Threads: --threads (default: all cores of this process).
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x, cache=None):
        """x: (B, T, C). With `cache` (a dict), the T tokens follow the ones cached: their keys and values are appended."""
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        # A single new token attends to everything cached; a prompt is causal within itself.
        y = F.scaled_dot_product_attention(q, k, v, is_causal=t > 1)
        x = x + self.c_proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, context, layers, d, heads):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(context, d)
        self.h = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, targets):
        return F.cross_entropy(self.logits(idx).float().view(-1, self.wte.weight.shape[0]), targets.view(-1))

    def logits(self, idx, caches=None, start=0):
        """idx: (B, T) at positions start ..< start + T → (B, T, V); `caches`: one dict per block."""
        x = self.wte(idx) + self.wpe(torch.arange(start, start + idx.shape[1]))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        return self.ln_f(x) @ self.wte.weight.t()


class BertLayer(nn.Module):
    """Post-LayerNorm encoder layer with exact GELU, as Hugging Face BertLayer."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.attention_output = nn.Linear(d, d)
        self.attention_norm = nn.LayerNorm(d, eps=1e-12)
        self.intermediate = nn.Linear(d, 4 * d)
        self.output = nn.Linear(4 * d, d)
        self.output_norm = nn.LayerNorm(d, eps=1e-12)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = (z(x).view(b, t, self.heads, c // self.heads).transpose(1, 2)
                   for z in (self.query, self.key, self.value))
        y = F.scaled_dot_product_attention(q, k, v)
        h = self.attention_norm(x + self.attention_output(y.transpose(1, 2).reshape(b, t, c)))
        return self.output_norm(h + self.output(F.gelu(self.intermediate(h))))


class BertMLM(nn.Module):
    """BertForMaskedLM: word + position + token-type embeddings, layers, transform head, tied decoder + bias.
    The head runs only on the predicted rows, as `BertForMaskedLM.loss` in swift-pretrain."""

    def __init__(self, vocab, context, layers, d, heads):
        super().__init__()
        self.word = nn.Embedding(vocab, d)
        self.position = nn.Embedding(context, d)
        self.token_type = nn.Embedding(2, d)
        self.embedding_norm = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(BertLayer(d, heads) for _ in range(layers))
        self.transform = nn.Linear(d, d)
        self.transform_norm = nn.LayerNorm(d, eps=1e-12)
        self.output_bias = nn.Parameter(torch.zeros(vocab))
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, targets):
        t = idx.shape[1]
        x = self.word(idx) + self.position.weight[:t] + self.token_type.weight[0]
        x = self.embedding_norm(x)
        for layer in self.layers:
            x = layer(x)
        rows = (targets != -100).view(-1)
        h = x.reshape(-1, x.shape[-1])[rows]
        h = self.transform_norm(F.gelu(self.transform(h)))
        logits = h @ self.word.weight.t() + self.output_bias
        return F.cross_entropy(logits.float(), targets.view(-1)[rows])


class TERAFrames(nn.Module):
    """TERA (swift-pretrain's TERAModel): frames stacked by k → Linear → + learned positions → LayerNorm → post-LN
    BERT layers → dense → GELU → LayerNorm → decoder back to k·F bins; L1 against the input frames."""

    def __init__(self, positions, layers, d, heads, bins, stack):
        super().__init__()
        self.stack = stack
        self.input_projection = nn.Linear(stack * bins, d)
        self.position = nn.Parameter(torch.randn(positions, d) * 0.02)
        self.norm = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(BertLayer(d, heads) for _ in range(layers))
        self.dense = nn.Linear(d, d)
        self.head_norm = nn.LayerNorm(d, eps=1e-12)
        self.decoder = nn.Linear(d, stack * bins)

    def forward(self, features, _):
        b, t, f = features.shape
        x = self.input_projection(features.reshape(b, t // self.stack, self.stack * f))
        x = self.norm(x + self.position[: x.shape[1]])
        for layer in self.layers:
            x = layer(x)
        predicted = self.decoder(self.head_norm(F.gelu(self.dense(x)))).reshape(b, t, f)
        return F.l1_loss(predicted.float(), features)


def flops_per_step(params, layers, d, seq, tokens):
    return 6 * params * tokens + 12 * layers * d * seq * tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="gpt2", choices=["gpt2", "bert", "audio"])
    ap.add_argument("--mode", default="flushed", choices=["default", "flushed", "bf16"])
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--feature-bins", type=int, default=80, help="audio: fbank bins per frame")
    ap.add_argument("--frame-stack", type=int, default=2, help="audio: frames per position (--seq positions)")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--task", default="step", choices=["step", "eval", "generate"],
                    help="step: a training step; eval: logits of --batch windows; generate: greedy KV-cache decoding")
    ap.add_argument("--gen-batch", type=int, default=1)
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--profile", action="store_true",
                    help="after the timed steps, as many under torch.profiler: self CPU time by phase and op kind (stderr, profile_ms)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.mode != "default":
        torch.set_flush_denormal(True)
    if a.arch == "audio":
        model = TERAFrames(a.seq, a.layers, a.d_model, a.heads, a.feature_bins, a.frame_stack)
    else:
        model = (GPT if a.arch == "gpt2" else BertMLM)(a.vocab, a.seq, a.layers, a.d_model, a.heads)
    if a.task != "step":
        return inference(model, a)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.9, 0.95))
    params = sum(p.numel() for p in model.parameters())
    idx = torch.randint(0, a.vocab, (a.batch, a.seq))
    targets = torch.randint(0, a.vocab, (a.batch, a.seq))
    if a.arch == "audio":
        idx = torch.randn(a.batch, a.seq * a.frame_stack, a.feature_bins)
    if a.arch == "bert":
        # Every 7th position is predicted (about 15 %), as `pretrain bench --arch bert`.
        positions = torch.arange(a.batch * a.seq).view(a.batch, a.seq)
        targets = torch.where(positions % 7 == 0, idx, torch.full_like(idx, -100))

    def step():
        with torch.profiler.record_function("forward"):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.mode == "bf16"):
                loss = model(idx, targets)
        with torch.profiler.record_function("zero grad"):
            opt.zero_grad(set_to_none=True)
        with torch.profiler.record_function("backward"):
            loss.backward()
        with torch.profiler.record_function("clip"):
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        with torch.profiler.record_function("optimizer"):
            opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    ms = statistics.median(times) * 1e3
    tokens = a.batch * a.seq
    gflops = flops_per_step(params, a.layers, a.d_model, a.seq, tokens) / (ms / 1e3) / 1e9
    report = {"impl": "pytorch", "arch": a.arch, "mode": a.mode, "torch": torch.__version__, "params": params,
              "tokens_per_s": round(tokens / (ms / 1e3), 1), "ms_per_step": round(ms, 2),
              "gflops": round(gflops, 1), "threads": a.threads,
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if a.profile:
        report["profile_ms"] = profile(step, a.steps)
    print(json.dumps(report))


def inference(model, a):
    """`pretrain bench eval` / `generate`'s counterpart: median of --steps repetitions under torch.inference_mode."""
    assert a.arch == "gpt2", "inference benchmarks are for the GPT-2 configs"
    model.eval()
    if a.task == "eval":
        idx = torch.randint(0, a.vocab, (a.batch, a.seq))
        body, produced, rows = (lambda: model.logits(idx)), a.batch * a.seq, a.batch
    else:
        prompt = torch.randint(0, a.vocab, (a.gen_batch, a.prompt))

        def body():
            caches = [{} for _ in model.h]
            logits = model.logits(prompt, caches)
            for step in range(a.new_tokens):
                nxt = logits[:, -1].argmax(dim=-1, keepdim=True)
                logits = model.logits(nxt, caches, start=a.prompt + step)
        produced, rows = a.gen_batch * a.new_tokens, a.gen_batch
    times = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.mode == "bf16"):
        for i in range(a.warmup + a.steps):
            start = time.perf_counter()
            body()
            if i >= a.warmup:
                times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    print(json.dumps({"impl": "pytorch", "task": a.task, "mode": a.mode, "torch": torch.__version__, "batch": rows,
                      "tokens_per_s": round(produced / seconds, 1), "ms": round(seconds * 1e3, 2), "threads": a.threads,
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


PHASES = ("forward", "backward", "zero grad", "clip", "optimizer")
# aten op name (without the namespace) → the kinds `pretrain bench --profile` reports.
KINDS = [
    ("gemm", ("mm", "addmm", "bmm", "matmul", "linear", "baddbmm", "mkldnn_*", "convolution", "_convolution")),
    ("attention", ("*scaled_dot_product", "*flash_attention")),
    ("norm", ("layer_norm", "native_layer_norm", "rms_norm", "_fused_rms_norm")),
    ("output projection + loss", ("cross_entropy", "nll_loss", "log_softmax", "_log_softmax", "l1_loss")),
    ("softmax", ("softmax", "_softmax")),
    ("embedding", ("embedding", "embedding_dense_backward", "embedding_backward")),
    ("shape", ("view", "reshape", "transpose", "permute", "t", "contiguous", "clone", "copy_", "cat", "split", "chunk",
               "expand", "as_strided", "unsqueeze", "squeeze", "narrow", "slice", "select", "_unsafe_view", "unbind",
               "split_with_sizes", "empty_like", "empty", "empty_strided", "resize_")),
]


def kind_of(name):
    """An op's kind: its name equal to one of a kind's (or that name + _backward), or containing a "*name" pattern."""
    op = name.split("::")[-1]
    for kind, names in KINDS:
        if any(n.strip("*") in op if n.startswith("*") else op.startswith(n[:-1]) if n.endswith("*")
               else op in (n, n + "_backward") for n in names):
            return kind
    return "elementwise" if name.startswith("aten::") else "other"


def profile(step, steps):
    """Self CPU time per step by phase (the step's record_function ranges) and op kind, on stderr and as a dict."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        wall = (time.perf_counter() - start) / steps * 1e3
    totals = {}
    for event in prof.events():
        if event.name in PHASES or event.name.startswith("ProfilerStep"):
            continue
        phase, parent = None, event.cpu_parent
        while parent is not None and phase is None:
            phase = parent.name if parent.name in PHASES else None
            parent = parent.cpu_parent
        if phase is None:   # backward ops run under the autograd engine's own ranges
            phase = "backward" if "Backward" in event.name or "backward" in event.name else "other"
        kind = kind_of(event.name) if phase in ("forward", "backward") else phase
        key = f"{'step' if phase in ('zero grad', 'clip', 'optimizer') else phase}.{kind}"
        totals[key] = totals.get(key, 0.0) + event.self_cpu_time_total / 1e3 / steps
    rows = sorted(totals.items(), key=lambda kv: (kv[0].split(".")[0] != "forward", kv[0].split(".")[0] != "backward", -kv[1]))
    print(f"{'phase':10s}{'kind':36s}  ms/step   share", file=sys.stderr)
    for key, value in rows:
        phase, kind = key.split(".", 1)
        print(f"{phase:10s}{kind:36s}{value:9.2f}  {100 * value / wall:5.1f} %", file=sys.stderr)
    print(f"{'step (wall time of the profiled steps, with the profiler)':46s}{wall:9.2f}", file=sys.stderr)
    out = {key: round(value, 3) for key, value in rows}
    out["step"] = round(wall, 3)
    return out


if __name__ == "__main__":
    main()
