#!/usr/bin/env python3
"""Loads a directory written by `pretrain export` the way a transformers user would and reports what works.

Checks the model card (README.md front matter through huggingface_hub's ModelCard), the model (AutoModelForCausalLM
or AutoModelForMaskedLM, from config.json's architecture), the tokenizer (PreTrainedTokenizerFast, as the card's
"Use" section says: special tokens and model_max_length from tokenizer_config.json) and, for a causal LM,
generation_config.json, greedy `generate`, and what happens past the model's positions (the card's limitation).
Needs torch and transformers (`pip install torch transformers`); not part of `make test`.

    python3 scripts/check_model_card.py DIR
"""
import json
import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"  # a local directory only: never ask the Hub
import torch
from huggingface_hub import ModelCard
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, GenerationConfig, PreTrainedTokenizerFast


def main(directory):
    for name in ("README.md", "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        if not os.path.isfile(os.path.join(directory, name)):
            sys.exit(f"{directory}: no {name} (not a directory written by `pretrain export`)")
    card = ModelCard.load(os.path.join(directory, "README.md"))
    print("model card metadata:", card.data.to_dict())
    architecture = json.load(open(f"{directory}/config.json"))["architectures"][0]
    causal = architecture.endswith("LMHeadModel") or architecture.endswith("ForCausalLM")
    model = (AutoModelForCausalLM if causal else AutoModelForMaskedLM).from_pretrained(directory)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(directory)
    print(f"{type(model).__name__}: {sum(p.numel() for p in model.parameters())} parameters; tokenizer special tokens "
          f"{tokenizer.special_tokens_map}, model_max_length {tokenizer.model_max_length}")
    ids = tokenizer("To be, or not", return_tensors="pt").input_ids
    if causal:
        generation = GenerationConfig.from_pretrained(directory)
        print(f"generation_config: max_length {generation.max_length}, eos {generation.eos_token_id}")
        out = model.generate(ids, do_sample=False, max_new_tokens=8)
        print("greedy generate:", repr(tokenizer.decode(out[0])))
        positions = model.config.n_positions if hasattr(model.config, "n_positions") else model.config.max_position_embeddings
        try:
            model.generate(torch.zeros((1, positions + 8), dtype=torch.long), do_sample=False, max_new_tokens=2)
            print(f"past {positions} positions: no error")
        except Exception as error:  # the card says longer inputs fail
            print(f"past {positions} positions: {type(error).__name__}: {str(error)[:120]}")
    elif tokenizer.mask_token_id is not None:
        masked = ids.clone()
        masked[0, 1] = tokenizer.mask_token_id
        logits = model(input_ids=masked).logits
        print("masked LM logits:", tuple(logits.shape), "top token at the mask:",
              repr(tokenizer.decode([int(logits[0, 1].argmax())])))


if __name__ == "__main__":
    main(sys.argv[1])
