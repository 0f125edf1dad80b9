#!/usr/bin/env python3
"""Multiple-choice log-likelihood fixtures for Tests/TextEvaluationTests, computed in transformers.

Needs torch, safetensors, tokenizers and transformers (`pip install transformers`).

    python3 scripts/make_choice_fixtures.py

Writes Tests/TextEvaluationTests/Fixtures/choices/:

  tokenizer.json            a copy of Tests/TextDataTests/Fixtures/hf_bpe512.tokenizer.json (byte-level BPE trained
                            by `tokenizers` on Shakespeare, 512 ids, <|endoftext|> = 0)
  gpt2/, llama/             tiny random GPT2LMHeadModel and LlamaForCausalLM (vocabulary 512, 64 positions, weights
                            redrawn larger than their initialisation so that every layer matters), save_pretrained
  choices.json              per model and per (context, continuation) pair: the token ids of context and
                            continuation, the number of input tokens after truncation, the summed log-likelihood of
                            the continuation and whether it is the greedy continuation

The pairs are scored as lm-evaluation-harness scores a `loglikelihood` request with a Hugging Face causal model
(`HFLM._encode_pair` and `HFLM._loglikelihood_tokens`), written out here so that the fixture needs no harness:

  * trailing whitespace of the context (Python's str.rstrip) moves to the front of the continuation;
  * context tokens = encode(context); continuation tokens = encode(context + continuation)[len(context tokens):]
    (no special tokens added: add_special_tokens=False, as the harness does for GPT-2 and Llama without add_bos);
  * the model reads (context + continuation)[-(max_length + 1):][:-1], cut from the left to the model's positions;
  * log-likelihood = Σ log_softmax(logits) at the continuation's tokens, in float64 from the model's float32
    logits; greedy = the argmax at every continuation position is the continuation token.

The Swift test (ChoiceScoringFixtureTests) loads the same weights with our Hugging Face import, encodes the same
strings with our tokenizer and checks the ids exactly and every log-likelihood within 1e-4.
"""
import json
import os
import shutil

import torch
import transformers
from tokenizers import Tokenizer
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "TextEvaluationTests", "Fixtures", "choices")
TOKENIZER = os.path.join(ROOT, "Tests", "TextDataTests", "Fixtures", "hf_bpe512.tokenizer.json")
MAX_LENGTH = 64

SPEECH = ("To be, or not to be, that is the question: Whether 'tis nobler in the mind to suffer The slings and "
          "arrows of outrageous fortune")
FEW_SHOT = ("O, what a rogue and peasant slave am I!\nThis speech is from the play Hamlet\n\n"
            "Once more unto the breach, dear friends, once more;\nThis speech is from the play Henry V\n\n"
            "Is this a dagger which I see before me, The handle toward my hand?\nThis speech is from the play Macbeth\n\n"
            + SPEECH + "\nThis speech is from the play")

# (what the case checks, context, continuations)
CASES = [
    ("zero-shot, multi-token choices", "To be, or not to be, that is the question:\nThis speech is from the play",
     [" Hamlet", " Macbeth", " Othello", " The Tempest", " Twelfth Night"]),
    ("a trailing space moves to the continuation", "Is this text offensive? Answer: ", ["no", "yes"]),
    ("trailing newlines move to the continuation", "NAME\n    ls - list directory contents\n\n", ["1", "8"]),
    # The harness keeps encode(context) whole: "Ġth" stays the context's, and the continuation is what follows the
    # first 9 tokens of the whole encoding ("Ġp l ay" for both), so the letters merged into "Ġthe"/"Ġthis" are lost.
    ("a merge across the boundary", "This speech is from th", ["e play", "is play"]),
    ("non-ASCII text", "Ελληνικά καλημέρα, café naïve\nThe language of this text is", [" Greek", " français"]),
    ("a context longer than the window is cut from the left", FEW_SHOT, [" Hamlet", " Henry V", " Macbeth"]),
]


def perturb(model, generator, scale):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=generator) * scale)
            elif ("norm" in name.lower() or ".ln_" in name) and name.endswith("weight"):
                p.copy_(1 + torch.randn(p.shape, generator=generator) * 0.1)
            else:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
    model.eval()
    return model


def models():
    generator = torch.Generator().manual_seed(2025)
    gpt2 = GPT2Config(vocab_size=512, n_positions=MAX_LENGTH, n_embd=32, n_layer=2, n_head=4, bos_token_id=0,
                      eos_token_id=0, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    llama = LlamaConfig(vocab_size=512, max_position_embeddings=MAX_LENGTH, hidden_size=32, intermediate_size=80,
                        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4, rms_norm_eps=1e-5,
                        rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=0, eos_token_id=0)
    return [("gpt2", perturb(GPT2LMHeadModel(gpt2), generator, 0.3)),
            ("llama", perturb(LlamaForCausalLM(llama), generator, 0.3))]


def encode_pair(tokenizer, context, continuation):
    """HFLM._encode_pair for a causal model."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = tokenizer.encode(context + continuation, add_special_tokens=False).ids
    context_ids = tokenizer.encode(context, add_special_tokens=False).ids
    return context_ids, whole[len(context_ids):]


def score(model, context_ids, continuation_ids):
    """HFLM._loglikelihood_tokens for one request (batch of one, no padding)."""
    inputs = (context_ids + continuation_ids)[-(MAX_LENGTH + 1):][:-1]
    with torch.no_grad():
        logits = model(torch.tensor([inputs])).logits[0].double()
    log_probs = torch.log_softmax(logits, dim=-1)
    n = len(continuation_ids)
    rows = log_probs[len(inputs) - n:len(inputs)]
    target = torch.tensor(continuation_ids)
    greedy = bool((rows.argmax(dim=-1) == target).all())
    return len(inputs), float(rows.gather(1, target[:, None]).sum()), greedy


def greedy_case(tokenizer, model):
    """A context and the model's greedy continuation of it (up to three tokens) whose text encodes back to the
    same tokens, beside a continuation that is not greedy."""
    for context in ["Whether 'tis nobler in the mind", "Now is the winter of our discontent", "Friends, Romans,",
                    "If music be the food of love", "All the world's a stage"]:
        ids = tokenizer.encode(context, add_special_tokens=False).ids
        generated = []
        with torch.no_grad():
            for _ in range(3):
                logits = model(torch.tensor([(ids + generated)[-MAX_LENGTH:]])).logits[0, -1]
                generated.append(int(logits.argmax()))
                text = tokenizer.decode(generated, skip_special_tokens=False)
                if "\ufffd" not in text and encode_pair(tokenizer, context, text) == (ids, generated):
                    return ("the greedy continuation", context, [text, " Hamlet"])
    raise SystemExit("no context has a greedy continuation that encodes back to its tokens")


def main():
    os.makedirs(OUT, exist_ok=True)
    shutil.copyfile(TOKENIZER, os.path.join(OUT, "tokenizer.json"))
    tokenizer = Tokenizer.from_file(TOKENIZER)
    report = {"transformers": transformers.__version__, "torch": torch.__version__, "max_length": MAX_LENGTH,
              "tolerance": 1e-4, "models": {}}
    for name, model in models():
        model.save_pretrained(os.path.join(OUT, name))
        cases = CASES + [greedy_case(tokenizer, model)]
        rows = []
        for what, context, continuations in cases:
            for continuation in continuations:
                context_ids, continuation_ids = encode_pair(tokenizer, context, continuation)
                length, log_likelihood, greedy = score(model, context_ids, continuation_ids)
                rows.append({"case": what, "context": context, "continuation": continuation,
                             "context_ids": context_ids, "continuation_ids": continuation_ids,
                             "input_length": length, "log_likelihood": log_likelihood, "greedy": greedy})
                print(f"{name:6s} {what[:44]:44s} {continuation!r:16s} {len(context_ids):4d}+{len(continuation_ids)} "
                      f"in {length:3d}  ll {log_likelihood:9.4f}  greedy {greedy}")
        assert any(r["greedy"] for r in rows), f"{name}: no greedy continuation among the cases"
        assert any(len(r["context_ids"]) + len(r["continuation_ids"]) > MAX_LENGTH + 1 for r in rows), "no truncation"
        report["models"][name] = rows
    with open(os.path.join(OUT, "choices.json"), "w") as f:
        json.dump(report, f, indent=1, ensure_ascii=False, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
