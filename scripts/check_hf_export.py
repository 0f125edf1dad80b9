#!/usr/bin/env python3
"""Checks Hugging Face interop both ways against transformers; writes Tests/HFInteropTests/Fixtures.

Needs torch, safetensors and transformers (`pip install transformers`).

Export (ours -> transformers):
  1. `HF_FIXTURES_WRITE=1 swift test --filter HuggingFaceExportTests/testTodaysExportEqualsTheCheckedFixture` writes Fixtures/export/<family>/ (config.json,
     model.safetensors) for tiny seeded gpt2, llama and bert models, plus swift_logits.safetensors: the input
     ids (and BERT's attention mask and token types) and our logits. Skip with --skip-swift.
  2. This script loads each directory with GPT2LMHeadModel / LlamaForCausalLM / BertForMaskedLM (strictly:
     missing or unexpected keys are reported), computes logits for the same inputs and records the max abs
     difference, the loading report and transformers' logits in Fixtures/hf_agreement.json.

Import (transformers -> ours):
  3. For each case below it builds a transformers-initialised tiny model (weights redrawn larger so that every
     layer matters), saves it with save_pretrained into Fixtures/import/<case>/, and writes
     expected.safetensors: inputs and transformers' output. Two cases rewrite the saved file into the legacy
     layouts published checkpoints use (GPT-2 without the `transformer.` prefix and with attn.bias buffers;
     BERT pre-training checkpoints with LayerNorm gamma/beta, a pooler, the NSP head and the decoder copies).

The Swift tests (Tests/HFInteropTests) check the committed report (every difference within 1e-4), that our
current export of the same seeded models still gives the recorded logits, and that each import case loads
strictly and matches transformers' output within 1e-4.
"""
import argparse
import json
import os
import subprocess
import sys

import torch
import transformers
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from transformers import (BertConfig, BertForMaskedLM, BertForPreTraining, BertModel, GPT2Config, GPT2LMHeadModel,
                          LlamaConfig, LlamaForCausalLM)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "HFInteropTests", "Fixtures")
TOLERANCE = 1e-4
EXPORT_CLASSES = {"gpt2": GPT2LMHeadModel, "llama": LlamaForCausalLM, "bert": BertForMaskedLM}


def run_swift_writer():
    env = dict(os.environ, HF_FIXTURES_WRITE="1")
    subprocess.run(["swift", "test", "--filter", "HuggingFaceExportTests/testTodaysExportEqualsTheCheckedFixture"],
                   cwd=ROOT, env=env, check=False)  # the comparison half may fail until step 2 rewrites the report


def forward(model, inputs):
    with torch.no_grad():
        out = model(**inputs)
    return out.logits if hasattr(out, "logits") else out


def check_exports():
    report = {}
    for family, cls in EXPORT_CLASSES.items():
        directory = os.path.join(FIXTURES, "export", family)
        tensors = load_file(os.path.join(directory, "swift_logits.safetensors"))
        model, info = cls.from_pretrained(directory, output_loading_info=True, dtype=torch.float32)
        model.eval()
        inputs = {k: v.long() for k, v in tensors.items() if k != "logits"}
        logits = forward(model, inputs)
        difference = (logits - tensors["logits"]).abs().max().item()
        loading = {k: sorted(map(str, v)) for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
        report[family] = {"class": cls.__name__, "max_abs_diff": difference, "loading": loading,
                          "shape": list(logits.shape), "transformers_logits": [round(x, 7) for x in logits.flatten().tolist()]}
        status = "ok" if difference <= TOLERANCE and not any(loading.values()) else "MISMATCH"
        print(f"export {family:6s} {cls.__name__:18s} max |Δlogits| = {difference:.2e}  {status}  {loading}")
    return report


def perturb(model, generator):
    """Redraws weights larger than the 0.02 initialisation: matrices N(0, 0.3^2), norm weights 1 + N(0, 0.1^2),
    biases N(0, 0.1^2)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.3)
            elif "norm" in name.lower() and name.endswith("weight"):
                p.copy_(1 + torch.randn(p.shape, generator=generator) * 0.1)
            else:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
    model.eval()
    return model


def import_cases():
    generator = torch.Generator().manual_seed(2024)
    ids = torch.randint(0, 64, (2, 8), generator=generator)
    mask = torch.ones(2, 8, dtype=torch.long)
    mask[1, 5:] = 0
    types = torch.tensor([[0] * 4 + [1] * 4, [0] * 2 + [1] * 6])
    gpt2 = GPT2Config(vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=4, bos_token_id=0, eos_token_id=0,
                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    llama = LlamaConfig(vocab_size=64, max_position_embeddings=16, hidden_size=32, intermediate_size=80,
                        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4, rms_norm_eps=1e-5,
                        rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=0, eos_token_id=0)
    llama_tied = LlamaConfig(vocab_size=64, max_position_embeddings=16, hidden_size=32, intermediate_size=64,
                             num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, rms_norm_eps=1e-6,
                             rope_theta=500.0, tie_word_embeddings=True, bos_token_id=0, eos_token_id=0)
    bert = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
                      max_position_embeddings=16, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    causal = {"input_ids": ids}
    encoder = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return [
        ("gpt2", perturb(GPT2LMHeadModel(gpt2), generator), causal, None),
        ("gpt2_legacy", perturb(GPT2LMHeadModel(gpt2), generator), causal, legacy_gpt2),
        ("llama", perturb(LlamaForCausalLM(llama), generator), causal, None),
        ("llama_tied", perturb(LlamaForCausalLM(llama_tied), generator), causal, None),
        ("bert", perturb(BertForMaskedLM(bert), generator), encoder, None),
        ("bert_pretraining", perturb(BertForPreTraining(bert), generator), encoder, legacy_bert),
        ("bert_encoder", perturb(BertModel(bert), generator), encoder, None),
    ]


def legacy_gpt2(path, model):
    """The layout of the original `gpt2` repository: GPT2Model keys (no `transformer.`), causal-mask buffers."""
    tensors = load_file(path)
    out = {k[len("transformer."):]: v for k, v in tensors.items() if k.startswith("transformer.")}
    n_positions = model.config.n_positions
    for i in range(model.config.n_layer):
        out[f"h.{i}.attn.bias"] = torch.tril(torch.ones(n_positions, n_positions)).view(1, 1, n_positions, n_positions)
        out[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    save_file(out, path, metadata={"format": "pt"})


def legacy_bert(path, model):
    """The layout of Google's converted BERT checkpoints: LayerNorm gamma/beta, and the tied decoder stored."""
    tensors = load_file(path)
    out = {}
    for k, v in tensors.items():
        k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        out[k] = v
    out["cls.predictions.decoder.weight"] = tensors["bert.embeddings.word_embeddings.weight"].clone()
    out["cls.predictions.decoder.bias"] = tensors["cls.predictions.bias"].clone()
    out["bert.embeddings.position_ids"] = torch.arange(model.config.max_position_embeddings).view(1, -1)
    save_file(out, path, metadata={"format": "pt"})


def write_imports():
    report = {}
    for name, model, inputs, rewrite in import_cases():
        directory = os.path.join(FIXTURES, "import", name)
        os.makedirs(directory, exist_ok=True)
        model.save_pretrained(directory)
        with torch.no_grad():
            out = model(**inputs)
        if isinstance(model, BertModel):
            expected = out.last_hidden_state
        elif isinstance(model, BertForPreTraining):
            expected = out.prediction_logits
        else:
            expected = out.logits
        if rewrite is not None:
            rewrite(os.path.join(directory, "model.safetensors"), model)
        tensors = {k: v.contiguous() for k, v in inputs.items()}
        tensors["expected"] = expected.contiguous()
        save_file(tensors, os.path.join(directory, "expected.safetensors"))
        with safe_open(os.path.join(directory, "model.safetensors"), "pt") as f:
            keys = sorted(f.keys())
        report[name] = {"class": type(model).__name__, "output": "last_hidden_state" if isinstance(model, BertModel) else "logits",
                        "shape": list(expected.shape), "keys": len(keys)}
        print(f"import {name:16s} {type(model).__name__:18s} {len(keys)} tensors, output {list(expected.shape)}")
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-swift", action="store_true", help="reuse Fixtures/export instead of running the Swift writer")
    args = parser.parse_args()
    if not args.skip_swift:
        run_swift_writer()
    report = {"transformers": transformers.__version__, "torch": torch.__version__, "tolerance": TOLERANCE,
              "export": check_exports(), "import": write_imports()}
    with open(os.path.join(FIXTURES, "hf_agreement.json"), "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
        f.write("\n")
    failed = [k for k, v in report["export"].items() if v["max_abs_diff"] > TOLERANCE or any(v["loading"].values())]
    if failed:
        print("disagreement:", ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
