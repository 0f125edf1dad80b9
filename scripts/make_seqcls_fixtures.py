#!/usr/bin/env python3
"""Writes Tests/HFInteropTests/Fixtures/seqcls: tiny seeded transformers sequence classifiers and their logits.

Needs torch, safetensors and transformers (5.x). For each case it builds a randomly initialised tiny model
(vocabulary 64, width 32; weights redrawn larger than the 0.02 initialisation so that every layer shapes the
logits), saves it with save_pretrained into Fixtures/seqcls/<case>/ (config.json, model.safetensors; no tokenizer:
the tests feed token ids), and writes expected.safetensors: input_ids and attention_mask (3, 8), right-padded, and
transformers' logits (3, labels).

  bert   BertForSequenceClassification, 3 labels (pooler on [CLS], classifier)
  gpt2   GPT2ForSequenceClassification, 3 labels, pad_token_id 0 (score on the last non-pad token)
  llama  LlamaForSequenceClassification, 2 labels, untied, pad_token_id 0

The first row holds the pad id in its middle with the attention mask on: transformers reads a decoder's last token
as the last position whose id is not the pad id, and so must we.

The Swift tests (HuggingFaceClassifierTests) import each directory and compare the logits within 1e-4, and compare
the config fields and tensor names of our export with these directories'.
"""
import json
import os

import torch
import transformers
from safetensors.torch import save_file
from transformers import (BertConfig, BertForSequenceClassification, GPT2Config, GPT2ForSequenceClassification,
                          LlamaConfig, LlamaForSequenceClassification)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "HFInteropTests", "Fixtures", "seqcls")


def perturb(model, generator):
    """Matrices N(0, 0.3^2), norm weights 1 + N(0, 0.1^2), other vectors N(0, 0.1^2)."""
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


def inputs(generator):
    """Right-padded ids (3, 8) with pad id 0: 8, 5 and 2 real tokens; row 0 has a 0 at position 3."""
    ids = torch.randint(1, 64, (3, 8), generator=generator)
    mask = torch.ones(3, 8, dtype=torch.long)
    mask[1, 5:] = 0
    mask[2, 2:] = 0
    ids[mask == 0] = 0
    ids[0, 3] = 0
    return ids, mask


def cases():
    labels3 = {"id2label": {0: "negative", 1: "neutral", 2: "positive"},
               "label2id": {"negative": 0, "neutral": 1, "positive": 2}}
    labels2 = {"id2label": {0: "no", 1: "yes"}, "label2id": {"no": 0, "yes": 1}}
    bert = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
                      max_position_embeddings=16, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                      pad_token_id=0, **labels3)
    gpt2 = GPT2Config(vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=4, resid_pdrop=0.0, embd_pdrop=0.0,
                      attn_pdrop=0.0, bos_token_id=1, eos_token_id=1, pad_token_id=0, **labels3)
    llama = LlamaConfig(vocab_size=64, max_position_embeddings=16, hidden_size=32, intermediate_size=80,
                        num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=4, rms_norm_eps=1e-5,
                        rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=1, eos_token_id=1, pad_token_id=0,
                        **labels2)
    return [("bert", BertForSequenceClassification, bert), ("gpt2", GPT2ForSequenceClassification, gpt2),
            ("llama", LlamaForSequenceClassification, llama)]


def main():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(2025)
    report = {"transformers": transformers.__version__, "torch": torch.__version__}
    for name, cls, config in cases():
        model = perturb(cls(config), generator)
        ids, mask = inputs(generator)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask).logits
        directory = os.path.join(FIXTURES, name)
        os.makedirs(directory, exist_ok=True)
        model.save_pretrained(directory)
        save_file({"input_ids": ids.contiguous(), "attention_mask": mask.contiguous(), "logits": logits.contiguous()},
                  os.path.join(directory, "expected.safetensors"))
        report[name] = {"class": cls.__name__, "labels": config.num_labels, "logits": logits.tolist()}
        print(f"{name:6s} {cls.__name__:32s} logits {list(logits.shape)}")
    with open(os.path.join(FIXTURES, "versions.json"), "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
