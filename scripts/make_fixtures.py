#!/usr/bin/env python3
"""Write PyTorch reference fixtures (safetensors) for the Swift test suites.

Requirements: python3 with `torch` and `safetensors` installed (CPU torch is enough).
Run from anywhere:

    python3 scripts/make_fixtures.py

The script is deterministic (every case calls torch.manual_seed with a seed derived
from its name) and rewrites all fixture files each time it runs.

What it writes
==============

1. Op fixtures: Tests/TensorsTests/Fixtures/ops/<case>.safetensors (one file per case)
   plus Tests/TensorsTests/Fixtures/ops/manifest.json (human-readable list of cases).

   Tensor names inside each file:
     in.<name>     F32  float input that receives a gradient
     const.<name>  F32  float input that does NOT receive a gradient (e.g. soft targets)
     idx.<name>    I64  integer input (indices, targets, masks)
     out           F32  the op's output (shape [] for scalar outputs)
     grad_out      F32  upstream gradient for backward, same shape as `out`:
                        random normal, except scalar *losses* use exactly 1.0 (shape []).
                        (Non-loss scalar outputs such as sum_all/mean_all use a random scalar.)
     grad.<name>   F32  d(out . grad_out)/d(in.<name>) = torch.autograd.grad(out, inputs, grad_out)
   EXCEPTION (multi-output ops, only `split`): outputs are `out.0`, `out.1`, ... and the
   upstream gradients `grad_out.0`, `grad_out.1`, ...; there is no plain `out`/`grad_out`.

   Header __metadata__: {"op": <op name>, <attribute>: <string>, ...}. Attribute values are
   strings: ints as decimal ("-1"), bools as "0"/"1", floats as Python repr ("1e-05"),
   lists as comma-separated values with no spaces ("0,2", "4,4").

   Precision: inputs are drawn in float32 and stored as F32. The reference output and
   gradients are computed in float64 from exactly those float32 values (and the F32
   grad_out), then rounded to F32 for storage. So the stored results are the exact
   answer for the stored inputs, rounded once; a float32 implementation should match
   within float32 accumulation error.

2. Layer fixtures: Tests/LayersTests/Fixtures/<name>.safetensors (+ manifest.json)
     param.<hf.dotted.name>       F32  parameters (HF names; Linear weights in torch
                                       nn.Linear layout (out_features, in_features),
                                       NOT the HF GPT-2 Conv1D (in, out) layout)
     in.x / idx.<name>                 inputs
     out, grad_out, grad.x, grad.param.<hf.dotted.name>   as for op fixtures
   gpt2_block and bert_block are computed in float64 from F32 inputs like the op fixtures.
   tiny_gpt_adamw is a float32 training trajectory (10 AdamW steps); see its metadata
   and the docstring of make_tiny_gpt_adamw() for the tensors it stores.
"""

import json
import math
import os
import struct
import zlib

import torch
import torch.nn.functional as F
from safetensors import safe_open

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS_DIR = os.path.join(ROOT, "Tests", "TensorsTests", "Fixtures", "ops")
LAYERS_DIR = os.path.join(ROOT, "Tests", "LayersTests", "Fixtures")

REF = torch.float64  # reference computation dtype for op / block fixtures


# ----------------------------------------------------------------------------- helpers

def seed_for(name):
    torch.manual_seed(zlib.crc32(name.encode()) & 0x7FFFFFFF)


def attr_str(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return ",".join(attr_str(x) for x in v)
    return str(v)


def randn(*shape, std=1.0):
    return torch.randn(tuple(shape), dtype=torch.float32) * std


def uniform(lo, hi, *shape):
    return torch.rand(tuple(shape), dtype=torch.float32) * (hi - lo) + lo


def away_from_zero(x, margin=0.01):
    """Push values out of (-margin, margin) so kinks (relu, |.|) are not straddled."""
    return torch.where(x >= 0, x + margin, x - margin)


def random_sign(*shape):
    return torch.where(torch.rand(tuple(shape)) < 0.5, -1.0, 1.0).to(torch.float32)


def f32(t):
    return t.detach().to(torch.float32).contiguous()


def describe(tensors):
    return {k: f"{DTYPES[v.dtype]} {list(v.shape)}".replace(" ", "", 1).replace(", ", ",")
            for k, v in sorted(tensors.items())}


DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def write(path, tensors, meta):
    """Write a safetensors file with a byte-reproducible header.

    safetensors.torch.save_file emits __metadata__ keys in random (hash) order, so
    regenerating would churn the files; this writes the same format with sorted keys
    (8-byte little-endian header length, JSON header padded with spaces to a multiple
    of 8, then the raw little-endian tensor bytes) and verifies it with safe_open.
    """
    header = {"__metadata__": dict(sorted(meta.items()))}
    chunks, offset = [], 0
    for k in sorted(tensors):
        v = tensors[k].detach().contiguous()
        assert v.dtype in DTYPES, (k, v.dtype)
        raw = v.numpy().astype(v.numpy().dtype.newbyteorder("<")).tobytes()
        header[k] = {"dtype": DTYPES[v.dtype], "shape": list(v.shape),
                     "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))
    with safe_open(path, "pt") as f:          # round-trip check with the official reader
        assert f.metadata() == meta
        for k in tensors:
            assert torch.equal(f.get_tensor(k), tensors[k].detach().contiguous()), (path, k)


MANIFEST_OPS = {}


def save_case(name, op, attrs, gen, fn, loss=False):
    """Generate inputs, run fn forward+backward in float64, save <name>.safetensors.

    gen() -> dict with optional keys "in", "const", "idx" mapping short names to
             float32 (in/const) or int64 (idx) tensors. Names must be unique overall.
    fn(**tensors) -> output tensor, or a tuple/list of tensors (multi-output op).
    loss=True -> scalar loss: grad_out is 1.0 instead of random.
    """
    seed_for(name)
    spec = gen()
    ins, consts, idxs = spec.get("in", {}), spec.get("const", {}), spec.get("idx", {})
    assert not (set(ins) & set(consts)) and not (set(ins) & set(idxs)) and not (set(consts) & set(idxs))

    leaves = {k: v.to(torch.float32).to(REF).requires_grad_(True) for k, v in ins.items()}
    args = dict(leaves)
    args.update({k: v.to(torch.float32).to(REF) for k, v in consts.items()})
    args.update({k: v.to(torch.int64) for k, v in idxs.items()})

    out = fn(**args)
    multi = isinstance(out, (tuple, list))
    outs = list(out) if multi else [out]
    grad_outs = []
    for o in outs:
        if loss:
            assert o.dim() == 0
            grad_outs.append(torch.ones((), dtype=torch.float32))
        else:
            grad_outs.append(randn(*o.shape))
    grads = torch.autograd.grad(outs, list(leaves.values()),
                                [g.to(REF) for g in grad_outs], allow_unused=True)

    tensors = {}
    for k, v in ins.items():
        tensors[f"in.{k}"] = f32(v)
    for k, v in consts.items():
        tensors[f"const.{k}"] = f32(v)
    for k, v in idxs.items():
        tensors[f"idx.{k}"] = v.to(torch.int64).contiguous()
    if multi:
        for i, (o, g) in enumerate(zip(outs, grad_outs)):
            tensors[f"out.{i}"] = f32(o)
            tensors[f"grad_out.{i}"] = f32(g)
    else:
        tensors["out"] = f32(outs[0])
        tensors["grad_out"] = f32(grad_outs[0])
    for k, g in zip(leaves, grads):
        assert g is not None, f"{name}: input {k} got no gradient"
        tensors[f"grad.{k}"] = f32(g)

    # Sanity: torch's own float32 computation must agree with the stored reference.
    check_f32(name, fn, ins, consts, idxs, tensors, multi, grad_outs)

    meta = {"op": op}
    meta.update({k: attr_str(v) for k, v in attrs.items()})
    os.makedirs(OPS_DIR, exist_ok=True)
    write(os.path.join(OPS_DIR, f"{name}.safetensors"), tensors, meta)
    entry = {"op": op, "attrs": {k: v for k, v in meta.items() if k != "op"},
             "tensors": describe(tensors)}
    if multi:
        entry["note"] = "multi-output: out.<i> / grad_out.<i> instead of out / grad_out"
    MANIFEST_OPS[name] = entry


def check_f32(name, fn, ins, consts, idxs, ref, multi, grad_outs):
    leaves = {k: v.to(torch.float32).clone().requires_grad_(True) for k, v in ins.items()}
    args = dict(leaves)
    args.update({k: v.to(torch.float32) for k, v in consts.items()})
    args.update({k: v.to(torch.int64) for k, v in idxs.items()})
    out = fn(**args)
    outs = list(out) if multi else [out]
    grads = torch.autograd.grad(outs, list(leaves.values()), grad_outs)
    pairs = [(f"out.{i}" if multi else "out", o) for i, o in enumerate(outs)]
    pairs += [(f"grad.{k}", g) for k, g in zip(leaves, grads)]
    for key, t in pairs:
        r = ref[key]
        err = (t.detach() - r).abs().max().item() if r.numel() else 0.0
        scale = max(r.abs().max().item() if r.numel() else 0.0, 1.0)
        assert err <= 1e-4 * scale, f"{name}: float32 torch vs float64 ref mismatch on {key}: {err}"


# ----------------------------------------------------------------------------- op cases

def matmul_fn(tA, tB):
    def fn(a, b):
        if tA:
            a = a.transpose(-1, -2)
        if tB:
            b = b.transpose(-1, -2)
        return torch.matmul(a, b)
    return fn


def mm(tA, tB):
    return {"transposeA": tA, "transposeB": tB}


def rotate_half(x):
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), dim=-1)


def rotary_fn(base, offset):
    def fn(x):
        T, D = x.shape[-2], x.shape[-1]
        inv_freq = 1.0 / (base ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
        pos = torch.arange(offset, offset + T, dtype=torch.float64)
        freqs = torch.outer(pos, inv_freq)              # (T, D/2)
        emb = torch.cat((freqs, freqs), dim=-1)         # (T, D)
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        return x * cos + rotate_half(x) * sin
    return fn


def attention(q, k, v, scale, causal, key_padding=None):
    """Explicit SDPA. key_padding: (B, T) int, 1 = padded key (ignored)."""
    s = torch.matmul(q, k.transpose(-1, -2)) * scale
    Tq, Tk = s.shape[-2], s.shape[-1]
    allowed = torch.ones(Tq, Tk, dtype=torch.bool)
    if causal:
        allowed = torch.tril(allowed)
    allowed = allowed[None, None]
    if key_padding is not None:
        allowed = allowed & ~(key_padding.bool()[:, None, None, :])
    s = s.masked_fill(~allowed, float("-inf"))
    return torch.matmul(torch.softmax(s, dim=-1), v)


def sdpa_fn(causal, padding):
    def fn(q, k, v, key_padding=None):
        scale = 1.0 / math.sqrt(q.shape[-1])
        ref = attention(q, k, v, scale, causal, key_padding if padding else None)
        # cross-check with torch's SDPA where it accepts the combination
        if not (causal and padding):
            mask = None if not padding else ~(key_padding.bool()[:, None, None, :])
            t = F.scaled_dot_product_attention(q.detach(), k.detach(), v.detach(),
                                               attn_mask=mask, is_causal=causal)
            assert torch.allclose(t, ref.detach(), atol=1e-5), "sdpa cross-check failed"
        return ref
    return fn


def qkv(B, H, T, D, padding=False):
    def gen():
        spec = {"in": {"q": randn(B, H, T, D), "k": randn(B, H, T, D), "v": randn(B, H, T, D)}}
        if padding:
            kp = torch.zeros(B, T, dtype=torch.int64)
            kp[0, T - 2:] = 1        # batch 0: last 2 keys padded; batch 1: none
            spec["idx"] = {"key_padding": kp}
        return spec
    return gen


def sdpa_attrs(causal, D):
    return {"causal": causal, "scale": 1.0 / math.sqrt(D)}


def unary(f, make=lambda: randn(4, 5, std=2.0)):
    return (lambda: {"in": {"x": make()}}), (lambda x: f(x))


def binary(sa, sb, f, make_b=None):
    def gen():
        a = randn(*sa)
        b = make_b(sb) if make_b else randn(*sb)
        return {"in": {"a": a, "b": b}}
    return gen, (lambda a, b: f(a, b))


def distinct(*shape):
    n = math.prod(shape)
    return (torch.randperm(n).to(torch.float32) * 0.1 - n * 0.05 + uniform(0, 0.02, n)).reshape(shape)


def ce_targets(N, C):
    t = torch.randint(0, C, (N,))
    t[2] = -100
    return t


def soft_targets(N, C):
    return torch.softmax(randn(N, C, std=2.0), dim=-1)


def layer_norm(x, w, b, eps):
    return F.layer_norm(x, (x.shape[-1],), w, b, eps)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def op_cases():
    C = []  # (name, op, attrs, gen, fn, loss)

    def add(name, op, attrs, gen, fn, loss=False):
        C.append((name, op, attrs, gen, fn, loss))

    # 1. matmul
    for name, sa, sb, tA, tB in [
        ("matmul_2d", (5, 7), (7, 3), False, False),
        ("matmul_2d_tA", (7, 5), (7, 3), True, False),
        ("matmul_2d_tB", (5, 7), (3, 7), False, True),
        ("matmul_2d_tAtB", (7, 5), (3, 7), True, True),
        ("matmul_batched", (2, 4, 6), (2, 6, 5), False, False),
        ("matmul_batched_tB", (2, 4, 6), (2, 5, 6), False, True),
        ("matmul_broadcast_b", (2, 3, 4, 6), (6, 5), False, False),
    ]:
        add(name, "matmul", mm(tA, tB), *binary(sa, sb, matmul_fn(tA, tB)))

    # 2. linear
    add("linear", "linear", {"bias": True},
        lambda: {"in": {"x": randn(2, 3, 6), "weight": randn(4, 6, std=0.4), "bias": randn(4)}},
        lambda x, weight, bias: F.linear(x, weight, bias))
    add("linear_nobias", "linear", {"bias": False},
        lambda: {"in": {"x": randn(2, 3, 6), "weight": randn(4, 6, std=0.4)}},
        lambda x, weight: F.linear(x, weight))

    # 3. binary broadcasting
    divisor = lambda s: uniform(0.5, 2.0, *s) * random_sign(*s)
    add("add_same", "add", {}, *binary((3, 4), (3, 4), torch.add))
    add("add_bcast_row", "add", {}, *binary((2, 3, 4), (4,), torch.add))
    add("add_bcast_mid", "add", {}, *binary((2, 3, 4), (2, 1, 4), torch.add))
    add("sub_bcast", "sub", {}, *binary((3, 1), (1, 4), torch.sub))
    add("mul_bcast", "mul", {}, *binary((2, 3, 4), (3, 1), torch.mul))
    add("div_bcast", "div", {}, *binary((2, 3, 4), (4,), torch.div, make_b=divisor))
    add("mul_scalar_tensor", "mul", {}, *binary((3, 4), (), torch.mul))

    # 4. unary, shape (4, 5), inputs normal * 2
    positive = lambda: uniform(0.1, 3.0, 4, 5)
    add("exp", "exp", {}, *unary(torch.exp))
    add("log", "log", {}, *unary(torch.log, positive))
    add("sqrt", "sqrt", {}, *unary(torch.sqrt, positive))
    add("tanh", "tanh", {}, *unary(torch.tanh))
    add("sigmoid", "sigmoid", {}, *unary(torch.sigmoid))
    add("relu", "relu", {}, *unary(torch.relu, lambda: away_from_zero(randn(4, 5, std=2.0))))
    add("gelu_tanh", "gelu_tanh", {}, *unary(lambda x: F.gelu(x, approximate="tanh")))
    add("gelu_erf", "gelu_erf", {}, *unary(F.gelu))
    add("silu", "silu", {}, *unary(F.silu))
    add("neg", "neg", {}, *unary(torch.neg))

    # 5. reductions
    x345 = lambda: {"in": {"x": randn(3, 4, 5)}}
    add("sum_all", "sum", {"axes": "all", "keepDims": False}, x345, lambda x: x.sum())
    add("sum_axis1", "sum", {"axes": [1], "keepDims": False}, x345, lambda x: x.sum(1))
    add("sum_axes02_keep", "sum", {"axes": [0, 2], "keepDims": True}, x345,
        lambda x: x.sum((0, 2), keepdim=True))
    add("mean_axis_last", "mean", {"axes": [-1], "keepDims": False}, x345, lambda x: x.mean(-1))
    add("mean_all", "mean", {"axes": "all", "keepDims": False}, x345, lambda x: x.mean())
    add("max_axis1", "max", {"axes": [1], "keepDims": False},
        lambda: {"in": {"x": distinct(3, 4, 5)}}, lambda x: x.amax(1))

    # 6. shape ops
    add("reshape", "reshape", {"shape": [6, 4]},
        lambda: {"in": {"x": randn(2, 3, 4)}}, lambda x: x.reshape(6, 4))
    add("transpose", "transpose", {"axis0": 0, "axis1": 2},
        lambda: {"in": {"x": randn(2, 3, 4)}}, lambda x: x.transpose(0, 2))
    add("permute", "permute", {"perm": [0, 2, 1, 3]},
        lambda: {"in": {"x": randn(2, 3, 4, 5)}}, lambda x: x.permute(0, 2, 1, 3))
    add("slice", "slice", {"axis": 1, "start": 1, "end": 5},
        lambda: {"in": {"x": randn(4, 6, 3)}}, lambda x: x[:, 1:5])
    add("concat", "concat", {"axis": 1},
        lambda: {"in": {"a": randn(2, 3, 4), "b": randn(2, 2, 4)}},
        lambda a, b: torch.cat((a, b), dim=1))
    add("split", "split", {"axis": 1, "sizes": [2, 5]},
        lambda: {"in": {"x": randn(2, 7, 3)}}, lambda x: tuple(torch.split(x, [2, 5], dim=1)))

    # 7. embedding (repeated indices so the backward scatter-add accumulates)
    add("embedding", "embedding", {},
        lambda: {"in": {"weight": randn(10, 6)},
                 "idx": {"indices": torch.tensor([[1, 3, 3, 7, 0], [9, 1, 3, 5, 1]])}},
        lambda weight, indices: F.embedding(indices, weight))

    # 8. softmax
    x347 = lambda: {"in": {"x": randn(3, 4, 7, std=2.0)}}
    add("softmax", "softmax", {"axis": -1}, x347, lambda x: torch.softmax(x, -1))
    add("log_softmax", "log_softmax", {"axis": -1}, x347, lambda x: torch.log_softmax(x, -1))
    add("softmax_axis1", "softmax", {"axis": 1}, x347, lambda x: torch.softmax(x, 1))

    # 9. normalization
    add("layer_norm", "layer_norm", {"eps": 1e-5},
        lambda: {"in": {"x": randn(2, 3, 16, std=2.0) + 0.5,
                        "weight": 1.0 + randn(16, std=0.2), "bias": randn(16, std=0.2)}},
        lambda x, weight, bias: layer_norm(x, weight, bias, 1e-5))
    add("rms_norm", "rms_norm", {"eps": 1e-6},
        lambda: {"in": {"x": randn(2, 3, 16, std=2.0), "weight": 1.0 + randn(16, std=0.2)}},
        lambda x, weight: rms_norm(x, weight, 1e-6))

    # 10. attention (B, H, T, D)
    for name, causal, padding in [("sdpa_causal", True, False),
                                  ("sdpa_bidirectional", False, False),
                                  ("sdpa_padding", False, True),
                                  ("sdpa_causal_padding", True, True)]:
        add(name, "sdpa", sdpa_attrs(causal, 8), qkv(2, 3, 5, 8, padding), sdpa_fn(causal, padding))
    add("sdpa_causal_long", "sdpa", sdpa_attrs(True, 16), qkv(1, 2, 70, 16), sdpa_fn(True, False))

    # 11. rotary (HF Llama rotate_half convention)
    for name, offset in [("rotary", 0), ("rotary_offset", 3)]:
        add(name, "rotary", {"base": 10000.0, "offset": offset, "convention": "rotate_half"},
            lambda: {"in": {"x": randn(2, 3, 6, 8)}}, rotary_fn(10000.0, offset))

    # 12. cross entropy (scalar losses, grad_out = 1)
    add("cross_entropy", "cross_entropy",
        {"ignore_index": -100, "label_smoothing": 0.0, "reduction": "mean"},
        lambda: {"in": {"logits": randn(6, 11, std=2.0)}, "idx": {"targets": ce_targets(6, 11)}},
        lambda logits, targets: F.cross_entropy(logits, targets, ignore_index=-100), loss=True)
    add("cross_entropy_smooth", "cross_entropy",
        {"ignore_index": -100, "label_smoothing": 0.1, "reduction": "mean"},
        lambda: {"in": {"logits": randn(6, 11, std=2.0)}, "idx": {"targets": ce_targets(6, 11)}},
        lambda logits, targets: F.cross_entropy(logits, targets, ignore_index=-100,
                                                label_smoothing=0.1), loss=True)
    add("cross_entropy_soft", "cross_entropy_soft", {"reduction": "mean"},
        lambda: {"in": {"logits": randn(6, 11, std=2.0)}, "const": {"targets": soft_targets(6, 11)}},
        lambda logits, targets: F.cross_entropy(logits, targets), loss=True)
    # Hinton's soft-label distillation: τ² · KL(softmax(t/τ) ‖ softmax(s/τ)), the mean over rows (all leading axes).
    def distillation_kl(tau):
        def fn(student, teacher):
            c = student.shape[-1]
            return F.kl_div(F.log_softmax(student.reshape(-1, c) / tau, -1), F.softmax(teacher.reshape(-1, c) / tau, -1),
                            reduction="batchmean") * tau * tau
        return fn
    add("distillation_kl", "distillation_kl", {"temperature": 2.0},
        lambda: {"in": {"student": randn(6, 11, std=2.0)}, "const": {"teacher": randn(6, 11, std=2.0)}},
        distillation_kl(2.0), loss=True)
    add("distillation_kl_3d", "distillation_kl", {"temperature": 0.5},
        lambda: {"in": {"student": randn(2, 3, 13, std=1.5)}, "const": {"teacher": randn(2, 3, 13, std=1.5)}},
        distillation_kl(0.5), loss=True)
    # Distillation from a cached teacher's top k: the k log-probabilities renormalised at τ, scattered to their ids.
    def topk_kl(tau):
        def fn(student, indices, log_probabilities):
            q = F.softmax(log_probabilities / tau, -1)
            log_s = F.log_softmax(student / tau, -1).gather(-1, indices.long())
            return (q * (F.log_softmax(log_probabilities / tau, -1) - log_s)).sum(-1).mean() * tau * tau
        return fn
    def topk_gen():
        teacher = torch.log_softmax(randn(6, 11, std=2.0), -1)
        values, ids = teacher.topk(4, -1)
        return {"in": {"student": randn(6, 11, std=2.0)}, "const": {"indices": ids.float(), "log_probabilities": values}}
    add("distillation_topk", "distillation_topk", {"temperature": 2.0}, topk_gen, topk_kl(2.0), loss=True)

    # Latent distillation (TinyBERT / MiniLM): a student's hidden states through a learned projection against the
    # teacher's (MSE), and the KL of the teacher's causal self-attention distributions to the student's, the mean
    # over (B, H, T) rows, both from scores scale · q kᵀ with −∞ above the diagonal.
    add("distillation_hidden_mse", "distillation_hidden_mse", {},
        lambda: {"in": {"hidden": randn(2, 5, 6), "projection": randn(8, 6, std=0.4)}, "const": {"teacher": randn(2, 5, 8)}},
        lambda hidden, projection, teacher: F.mse_loss(F.linear(hidden, projection), teacher), loss=True)

    def causal_scores(q, k):
        t = q.shape[-2]
        s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        return s.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float("-inf"))

    def attention_kl(query, key, teacher_query, teacher_key):
        s, t = causal_scores(query, key), causal_scores(teacher_query, teacher_key)
        p = F.softmax(t, -1)
        terms = torch.where(p > 0, p * (F.log_softmax(t, -1) - F.log_softmax(s, -1)), torch.zeros_like(p))
        return terms.sum() / (s.numel() // s.shape[-1])
    add("distillation_attention_kl", "distillation_attention_kl", {},
        lambda: {"in": {"query": randn(2, 3, 5, 4), "key": randn(2, 3, 5, 4)},
                 "const": {"teacher_query": randn(2, 3, 5, 4, std=1.5), "teacher_key": randn(2, 3, 5, 4, std=1.5)}},
        attention_kl, loss=True)

    # 13. regression losses
    add("mse", "mse_loss", {"reduction": "mean"},
        lambda: {"in": {"x": randn(3, 4)}, "const": {"target": randn(3, 4)}},
        lambda x, target: F.mse_loss(x, target), loss=True)

    def l1_gen():
        x = randn(3, 4)
        return {"in": {"x": x}, "const": {"target": x + random_sign(3, 4) * uniform(0.1, 1.0, 3, 4)}}
    add("l1", "l1_loss", {"reduction": "mean"}, l1_gen,
        lambda x, target: F.l1_loss(x, target), loss=True)

    # 14. convolutions
    def conv_gen(xs, ws, bias):
        def gen():
            fan_in = math.prod(ws[1:])
            d = {"x": randn(*xs), "weight": randn(*ws, std=1.0 / math.sqrt(fan_in))}
            if bias:
                d["bias"] = randn(ws[0], std=0.2)
            return {"in": d}
        return gen

    def conv1d(stride, padding, groups):
        return lambda x, weight, bias=None: F.conv1d(x, weight, bias, stride, padding, 1, groups)

    def conv2d(stride, padding):
        return lambda x, weight, bias=None: F.conv2d(x, weight, bias, stride, padding)

    for name, xs, ws, bias, s, p, g in [
        ("conv1d", (2, 4, 12), (6, 4, 3), True, 1, 1, 1),
        ("conv1d_stride2_pad2", (2, 4, 12), (6, 4, 5), True, 2, 2, 1),
        ("conv1d_groups", (2, 4, 12), (8, 2, 3), True, 1, 0, 2),
    ]:
        add(name, "conv1d", {"stride": s, "padding": p, "groups": g, "dilation": 1, "bias": bias},
            conv_gen(xs, ws, bias), conv1d(s, p, g))
    for name, xs, ws, bias, s, p in [
        ("conv2d_patch", (2, 3, 8, 8), (5, 3, 4, 4), True, (4, 4), (0, 0)),
        ("conv2d_stride1", (1, 2, 6, 5), (3, 2, 3, 2), False, (1, 1), (0, 0)),
        ("conv2d_stride_2x1", (1, 2, 6, 5), (3, 2, 3, 2), False, (2, 1), (0, 0)),
    ]:
        add(name, "conv2d", {"stride": list(s), "padding": list(p), "groups": 1,
                             "dilation": [1, 1], "bias": bias},
            conv_gen(xs, ws, bias), conv2d(s, p))

    # 15. dropout: no fixture (RNG streams differ between torch and Swift).
    return C


# ----------------------------------------------------------------------------- layer blocks

def lin(p, prefix, x):
    return F.linear(x, p[prefix + ".weight"], p.get(prefix + ".bias"))


def split_heads(t, H):
    B, T, C = t.shape
    return t.view(B, T, H, C // H).transpose(1, 2)      # (B, H, T, D)


def merge_heads(t):
    B, H, T, D = t.shape
    return t.transpose(1, 2).reshape(B, T, H * D)


def gpt2_block(p, x, H, eps=1e-5, prefix=""):
    """Pre-LN GPT-2 block; Linear weights in nn.Linear (out, in) layout."""
    C = x.shape[-1]
    h = layer_norm(x, p[prefix + "ln_1.weight"], p[prefix + "ln_1.bias"], eps)
    q, k, v = lin(p, prefix + "attn.c_attn", h).split(C, dim=-1)
    a = attention(split_heads(q, H), split_heads(k, H), split_heads(v, H),
                  1.0 / math.sqrt(C // H), causal=True)
    x = x + lin(p, prefix + "attn.c_proj", merge_heads(a))
    h = layer_norm(x, p[prefix + "ln_2.weight"], p[prefix + "ln_2.bias"], eps)
    h = F.gelu(lin(p, prefix + "mlp.c_fc", h), approximate="tanh")
    return x + lin(p, prefix + "mlp.c_proj", h)


def bert_layer(p, x, attention_mask, H, eps=1e-12):
    """Post-LN BERT layer (HF BertLayer). attention_mask: (B, T), 1 = attend, 0 = padded."""
    q = split_heads(lin(p, "attention.self.query", x), H)
    k = split_heads(lin(p, "attention.self.key", x), H)
    v = split_heads(lin(p, "attention.self.value", x), H)
    a = attention(q, k, v, 1.0 / math.sqrt(q.shape[-1]), causal=False,
                  key_padding=(attention_mask == 0).long())
    h = lin(p, "attention.output.dense", merge_heads(a))
    h = layer_norm(h + x, p["attention.output.LayerNorm.weight"],
                   p["attention.output.LayerNorm.bias"], eps)
    i = F.gelu(lin(p, "intermediate.dense", h))
    o = lin(p, "output.dense", i)
    return layer_norm(o + h, p["output.LayerNorm.weight"], p["output.LayerNorm.bias"], eps)


def llama_block(p, x, H, eps=1e-5, base=10000.0):
    """Pre-RMSNorm Llama block (HF LlamaDecoderLayer): rotary q/k, causal attention, SwiGLU MLP, no biases."""
    rope = rotary_fn(base, 0)
    h = rms_norm(x, p["input_layernorm.weight"], eps)
    q, k, v = (split_heads(lin(p, f"self_attn.{n}_proj", h), H) for n in "qkv")
    a = attention(rope(q), rope(k), v, 1.0 / math.sqrt(q.shape[-1]), causal=True)
    x = x + lin(p, "self_attn.o_proj", merge_heads(a))
    h = rms_norm(x, p["post_attention_layernorm.weight"], eps)
    return x + lin(p, "mlp.down_proj", F.silu(lin(p, "mlp.gate_proj", h)) * lin(p, "mlp.up_proj", h))


def random_params(shapes):
    """Non-trivial random params (so every gradient is exercised): weights ~ N(0, 1/fan_in),
    biases ~ N(0, 0.1^2), LayerNorm weights ~ 1 + N(0, 0.1^2)."""
    p = {}
    for name, shape in shapes:
        if "LayerNorm" in name or "layernorm" in name or name.split(".")[0] in ("ln_1", "ln_2"):
            p[name] = (1.0 + randn(*shape, std=0.1)) if name.endswith("weight") else randn(*shape, std=0.1)
        elif name.endswith("bias"):
            p[name] = randn(*shape, std=0.1)
        else:
            p[name] = randn(*shape, std=1.0 / math.sqrt(shape[1]))
    return p


MANIFEST_LAYERS = {}


def save_block(name, meta, params, x, idx, fn):
    seed_for(name + ".grad_out")
    leaves = {k: v.to(REF).requires_grad_(True) for k, v in params.items()}
    xr = x.to(REF).requires_grad_(True)
    out = fn(leaves, xr, **idx)
    grad_out = randn(*out.shape)
    grads = torch.autograd.grad(out, [xr] + list(leaves.values()), grad_out.to(REF))
    t = {"in.x": f32(x), "out": f32(out), "grad_out": grad_out, "grad.x": f32(grads[0])}
    for k, v in idx.items():
        t[f"idx.{k}"] = v.to(torch.int64)
    for (k, v), g in zip(params.items(), grads[1:]):
        t[f"param.{k}"] = f32(v)
        t[f"grad.param.{k}"] = f32(g)

    # float32 sanity check
    lf = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    xf = x.clone().requires_grad_(True)
    of = fn(lf, xf, **idx)
    gf = torch.autograd.grad(of, [xf] + list(lf.values()), grad_out)
    assert (of - t["out"]).abs().max() < 1e-4 * max(1.0, t["out"].abs().max().item())
    for g, key in zip(gf, ["grad.x"] + [f"grad.param.{k}" for k in params]):
        assert (g - t[key]).abs().max() < 1e-3 * max(1.0, t[key].abs().max().item()), (name, key)

    meta = {k: attr_str(v) for k, v in meta.items()}
    write(os.path.join(LAYERS_DIR, f"{name}.safetensors"), t, meta)
    MANIFEST_LAYERS[name] = {"metadata": meta, "tensors": describe(t)}


def make_gpt2_block():
    name, B, T, C, H = "gpt2_block", 2, 6, 16, 4
    seed_for(name)
    params = random_params([
        ("ln_1.weight", (C,)), ("ln_1.bias", (C,)),
        ("attn.c_attn.weight", (3 * C, C)), ("attn.c_attn.bias", (3 * C,)),
        ("attn.c_proj.weight", (C, C)), ("attn.c_proj.bias", (C,)),
        ("ln_2.weight", (C,)), ("ln_2.bias", (C,)),
        ("mlp.c_fc.weight", (4 * C, C)), ("mlp.c_fc.bias", (4 * C,)),
        ("mlp.c_proj.weight", (C, 4 * C)), ("mlp.c_proj.bias", (C,)),
    ])
    x = randn(B, T, C)
    meta = {"op": "gpt2_block", "n_embd": C, "n_head": H, "layer_norm_eps": 1e-5,
            "activation": "gelu_tanh", "causal": True, "linear_layout": "out_in",
            "qkv_split": "c_attn output columns [0,C)=q, [C,2C)=k, [2C,3C)=v; head h = dims [h*D,(h+1)*D)",
            "norm": "pre"}
    save_block(name, meta, params, x, {}, lambda p, x: gpt2_block(p, x, H))


def make_bert_block():
    name, B, T, C, H = "bert_block", 2, 6, 16, 4
    seed_for(name)
    params = random_params([
        ("attention.self.query.weight", (C, C)), ("attention.self.query.bias", (C,)),
        ("attention.self.key.weight", (C, C)), ("attention.self.key.bias", (C,)),
        ("attention.self.value.weight", (C, C)), ("attention.self.value.bias", (C,)),
        ("attention.output.dense.weight", (C, C)), ("attention.output.dense.bias", (C,)),
        ("attention.output.LayerNorm.weight", (C,)), ("attention.output.LayerNorm.bias", (C,)),
        ("intermediate.dense.weight", (4 * C, C)), ("intermediate.dense.bias", (4 * C,)),
        ("output.dense.weight", (C, 4 * C)), ("output.dense.bias", (C,)),
        ("output.LayerNorm.weight", (C,)), ("output.LayerNorm.bias", (C,)),
    ])
    x = randn(B, T, C)
    mask = torch.ones(B, T, dtype=torch.int64)
    mask[1, T - 2:] = 0
    meta = {"op": "bert_layer", "hidden_size": C, "n_head": H, "intermediate_size": 4 * C,
            "layer_norm_eps": 1e-12, "activation": "gelu_erf", "causal": False,
            "linear_layout": "out_in", "norm": "post",
            "attention_mask": "1=attend,0=padded key; padded query rows are still computed and compared"}
    save_block(name, meta, params, x, {"attention_mask": mask},
               lambda p, x, attention_mask: bert_layer(p, x, attention_mask, H))


def make_llama_block():
    name, B, T, C, H, FF = "llama_block", 2, 6, 16, 4, 48
    seed_for(name)
    params = random_params([
        ("input_layernorm.weight", (C,)),
        ("self_attn.q_proj.weight", (C, C)), ("self_attn.k_proj.weight", (C, C)),
        ("self_attn.v_proj.weight", (C, C)), ("self_attn.o_proj.weight", (C, C)),
        ("post_attention_layernorm.weight", (C,)),
        ("mlp.gate_proj.weight", (FF, C)), ("mlp.up_proj.weight", (FF, C)), ("mlp.down_proj.weight", (C, FF)),
    ])
    x = randn(B, T, C)
    meta = {"op": "llama_block", "n_embd": C, "n_head": H, "intermediate_size": FF, "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0, "rope": "rotate_half", "causal": True, "linear_layout": "out_in",
            "norm": "pre-rms"}
    save_block(name, meta, params, x, {}, lambda p, x: llama_block(p, x, H))


def make_tiny_gpt_adamw():
    """Tiny GPT-2 LM trained for 10 AdamW steps in float32.

    Stores: param.<name> (initial params), grad.param.<name> (gradient of step-0 loss at the
    initial params, before clipping), idx.inputs_<s>, idx.targets_<s> (4,16) for s in 0..9,
    loss (10,) (loss at each step, before that step's update), grad_norm (10,) (total L2 norm
    returned by clip_grad_norm_, i.e. BEFORE clipping), final.<name> (params after 10 steps).
    """
    name = "tiny_gpt_adamw"
    V, P, C, L, H, B, T, steps = 64, 16, 32, 2, 4, 4, 16, 10
    lr, betas, eps, wd, clip = 1e-3, (0.9, 0.95), 1e-8, 0.1, 1.0
    torch.set_num_threads(1)
    seed_for(name)

    names = [("transformer.wte.weight", (V, C)), ("transformer.wpe.weight", (P, C))]
    for i in range(L):
        h = f"transformer.h.{i}."
        names += [(h + "ln_1.weight", (C,)), (h + "ln_1.bias", (C,)),
                  (h + "attn.c_attn.weight", (3 * C, C)), (h + "attn.c_attn.bias", (3 * C,)),
                  (h + "attn.c_proj.weight", (C, C)), (h + "attn.c_proj.bias", (C,)),
                  (h + "ln_2.weight", (C,)), (h + "ln_2.bias", (C,)),
                  (h + "mlp.c_fc.weight", (4 * C, C)), (h + "mlp.c_fc.bias", (4 * C,)),
                  (h + "mlp.c_proj.weight", (C, 4 * C)), (h + "mlp.c_proj.bias", (C,))]
    names += [("transformer.ln_f.weight", (C,)), ("transformer.ln_f.bias", (C,))]

    params = {}
    for n, shape in names:
        if ".ln_" in n:
            params[n] = torch.ones(shape) if n.endswith("weight") else torch.zeros(shape)
        elif n.endswith("bias"):
            params[n] = torch.zeros(shape)
        elif n.endswith("c_proj.weight"):
            params[n] = randn(*shape, std=0.02 / math.sqrt(2 * L))
        else:
            params[n] = randn(*shape, std=0.02)
    init = {n: v.clone() for n, v in params.items()}

    batches = []
    for s in range(steps):
        seq = torch.randint(0, V, (B, T + 1))
        batches.append((seq[:, :T].contiguous(), seq[:, 1:].contiguous()))

    p = {n: v.clone().requires_grad_(True) for n, v in params.items()}

    def forward(inputs):
        x = F.embedding(inputs, p["transformer.wte.weight"]) + p["transformer.wpe.weight"][:inputs.shape[1]]
        for i in range(L):
            x = gpt2_block(p, x, H, prefix=f"transformer.h.{i}.")
        x = layer_norm(x, p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], 1e-5)
        return x @ p["transformer.wte.weight"].t()          # tied lm_head

    decay = [v for v in p.values() if v.dim() >= 2]
    no_decay = [v for v in p.values() if v.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=betas, eps=eps, foreach=False)
    losses, norms, grad0 = [], [], None
    for s, (inputs, targets) in enumerate(batches):
        opt.zero_grad(set_to_none=True)
        logits = forward(inputs)
        loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
        loss.backward()
        if s == 0:
            grad0 = {n: v.grad.detach().clone() for n, v in p.items()}
        norm = torch.nn.utils.clip_grad_norm_(list(p.values()), clip, foreach=False)
        opt.step()
        losses.append(loss.item())
        norms.append(norm.item())

    t = {"loss": torch.tensor(losses, dtype=torch.float32),
         "grad_norm": torch.tensor(norms, dtype=torch.float32)}
    for n in init:
        t[f"param.{n}"] = init[n]
        t[f"grad.param.{n}"] = grad0[n]
        t[f"final.{n}"] = f32(p[n])
    for s, (inputs, targets) in enumerate(batches):
        t[f"idx.inputs_{s}"] = inputs
        t[f"idx.targets_{s}"] = targets
    meta = {"op": "tiny_gpt_adamw", "model": "GPT2LMHeadModel", "vocab_size": V, "n_positions": P,
            "n_embd": C, "n_layer": L, "n_head": H, "layer_norm_eps": 1e-5,
            "activation": "gelu_tanh", "tied_lm_head": True, "linear_layout": "out_in",
            "batch_size": B, "seq_len": T, "steps": steps, "dtype": "float32",
            "loss": "mean cross-entropy over all B*T positions, logits = ln_f(h) @ wte^T",
            "init": "weights N(0,0.02); c_proj weights N(0,0.02/sqrt(2*n_layer)); biases 0; LN weight 1, bias 0",
            "optimizer": "torch.optim.AdamW", "lr": lr, "beta1": betas[0], "beta2": betas[1],
            "eps": eps, "weight_decay": wd,
            "weight_decay_rule": "decay params with ndim>=2 (Linear weights, wte, wpe); no decay for ndim<2 (biases, LayerNorm)",
            "adamw_update": "p*=1-lr*wd; m=b1*m+(1-b1)g; v=b2*v+(1-b2)g^2; p-=lr/(1-b1^t)*m/(sqrt(v)/sqrt(1-b2^t)+eps)",
            "clip_grad_norm": clip,
            "clip_rule": "total L2 norm over all grads; g*=min(1, max_norm/(norm+1e-6)); grad_norm stores norm before clipping",
            "grad.param": "gradient of the step-0 loss at the initial params (before clipping)"}
    meta = {k: attr_str(v) for k, v in meta.items()}
    write(os.path.join(LAYERS_DIR, f"{name}.safetensors"), t, meta)
    MANIFEST_LAYERS[name] = {"metadata": meta, "tensors": describe(t)}
    print(f"  {name}: loss {losses[0]:.4f} -> {losses[-1]:.4f}, grad_norm[0] {norms[0]:.4f}")


# ----------------------------------------------------------------------------- main

def write_manifest(path, cases, conventions):
    with open(path, "w") as f:
        json.dump({"generated_by": "scripts/make_fixtures.py", "torch": torch.__version__,
                   "conventions": conventions, "cases": cases}, f, indent=1, sort_keys=False)
        f.write("\n")


OP_CONVENTIONS = {
    "in.<name>": "F32 float input that receives a gradient",
    "const.<name>": "F32 float input without gradient",
    "idx.<name>": "I64 integer input",
    "out": "F32 output (shape [] for scalars)",
    "grad_out": "F32 upstream gradient, same shape as out; 1.0 (shape []) for scalar losses",
    "grad.<name>": "F32 gradient of sum(out * grad_out) w.r.t. in.<name>",
    "multi_output": "split stores out.0, out.1, ... and grad_out.0, grad_out.1, ... instead of out / grad_out",
    "metadata": "__metadata__ = {op, attributes as strings}; lists comma-separated; bools 0/1; floats Python repr",
    "precision": "inputs F32; reference computed in float64 from the F32 inputs, stored as F32",
}

LAYER_CONVENTIONS = {
    "param.<hf.name>": "F32 parameter, HF dotted name; Linear weights in nn.Linear (out, in) layout",
    "grad.param.<hf.name>": "F32 gradient of that parameter",
    "in.x / idx.<name>": "inputs", "out / grad_out / grad.x": "as for op fixtures",
    "tiny_gpt_adamw": "see its metadata: param.*, grad.param.* (step 0), idx.inputs_<s>, idx.targets_<s>, loss, grad_norm, final.*",
}


def main():
    torch.set_num_threads(1)
    os.makedirs(OPS_DIR, exist_ok=True)
    cases = op_cases()
    for name, op, attrs, gen, fn, loss in cases:
        save_case(name, op, attrs, gen, fn, loss)
    write_manifest(os.path.join(OPS_DIR, "manifest.json"), MANIFEST_OPS, OP_CONVENTIONS)
    print(f"wrote {len(cases)} op fixtures to {os.path.relpath(OPS_DIR, ROOT)}")

    os.makedirs(LAYERS_DIR, exist_ok=True)
    make_gpt2_block()
    make_bert_block()
    make_llama_block()
    make_tiny_gpt_adamw()
    write_manifest(os.path.join(LAYERS_DIR, "manifest.json"), MANIFEST_LAYERS, LAYER_CONVENTIONS)
    print(f"wrote {len(MANIFEST_LAYERS)} layer fixtures to {os.path.relpath(LAYERS_DIR, ROOT)}")


if __name__ == "__main__":
    main()
