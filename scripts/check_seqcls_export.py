#!/usr/bin/env python3
"""Checks a classifier `pretrain finetune-text --out` exported against transformers.

Usage: scripts/check_seqcls_export.py DIR [--tolerance 1e-4]

DIR is one seed's Hugging Face directory (OUT/seed-N): config.json, model.safetensors, tokenizer.json and
predictions.json, the test texts' token ids with our logits and predicted labels. The script loads DIR with
AutoModelForSequenceClassification (strictly: a missing or unexpected tensor fails), runs the same ids as one
right-padded batch with an attention mask, and compares:

  - the logits (max abs difference within --tolerance) and the predicted labels (all equal);
  - the label names (config.json's id2label against predictions.json's labels);
  - the tokenizer: PreTrainedTokenizerFast(tokenizer_file=DIR/tokenizer.json) encodes each text, without special
    tokens, to the ids we fed between our special tokens (texts cut at --max-length are compared on their kept part).

Needs torch and transformers. Exits 1 on any disagreement.
"""
import argparse
import json
import os
import sys

import torch
from transformers import AutoModelForSequenceClassification, PreTrainedTokenizerFast


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    with open(os.path.join(args.directory, "predictions.json")) as f:
        ours = json.load(f)
    model, info = AutoModelForSequenceClassification.from_pretrained(args.directory, output_loading_info=True,
                                                                     dtype=torch.float32)
    model.eval()
    problems = []
    loading = {k: sorted(map(str, v)) for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    if loading:
        problems.append(f"loading: {loading}")
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    if labels != ours["labels"]:
        problems.append(f"labels: config.json {labels}, predictions.json {ours['labels']}")

    examples = ours["examples"]
    pad = ours["pad_token_id"]
    length = max(len(e["input_ids"]) for e in examples)
    ids = torch.full((len(examples), length), pad, dtype=torch.long)
    mask = torch.zeros((len(examples), length), dtype=torch.long)
    for row, example in enumerate(examples):
        ids[row, :len(example["input_ids"])] = torch.tensor(example["input_ids"])
        mask[row, :len(example["input_ids"])] = 1
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits
    expected = torch.tensor([e["logits"] for e in examples])
    difference = (logits - expected).abs().max().item()
    if difference > args.tolerance:
        problems.append(f"max |Δlogits| {difference:.2e} > {args.tolerance}")
    predicted = [labels[i] for i in logits.argmax(-1).tolist()]
    disagreements = sum(p != e["prediction"] for p, e in zip(predicted, examples))
    if disagreements:
        problems.append(f"{disagreements} of {len(examples)} predictions differ")

    tokenizer_file = os.path.join(args.directory, "tokenizer.json")
    tokenizer_mismatches = None
    if os.path.exists(tokenizer_file):
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=tokenizer_file)
        prefix, suffix = len(ours["prefix_ids"]), len(ours["suffix_ids"])
        tokenizer_mismatches = 0
        for example in examples:
            fed = example["input_ids"][prefix:len(example["input_ids"]) - suffix]
            encoded = tokenizer.encode(example["text"], add_special_tokens=False)[:len(fed)]
            tokenizer_mismatches += encoded != fed
        if tokenizer_mismatches:
            problems.append(f"the tokenizer encodes {tokenizer_mismatches} of {len(examples)} texts to other ids")

    accuracy = sum(p == e["label"] for p, e in zip(predicted, examples)) / len(examples)
    print(f"{type(model).__name__}: {len(examples)} texts, max |Δlogits| = {difference:.2e}, "
          f"predictions agree {len(examples) - disagreements}/{len(examples)}, accuracy {accuracy:.4f}, "
          f"tokenizer {'not checked' if tokenizer_mismatches is None else 'agrees' if not tokenizer_mismatches else 'DISAGREES'}")
    if problems:
        print("MISMATCH: " + "; ".join(problems))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
