#!/usr/bin/env python3
"""Tokenizer fixtures for Tests/TextDataTests, made with the Python `tokenizers` package (pip install tokenizers).

    swift build --product pretrain && python3 scripts/make_tokenizer_fixtures.py [--pretrain PATH_TO_PRETRAIN]

Writes into Tests/TextDataTests/Fixtures/:

  sample.txt                        ~50 KB of Shakespeare (the start of julius_caesar.txt and sonnets.txt from
                                    data/shakespeare, cut at line ends); made only if missing.
  hf_bpe{512,1024}.tokenizer.json   (a) byte-level BPE trained by `tokenizers` on sample.txt, GPT-2 style:
                                    ByteLevel pre-tokenizer (add_prefix_space=False), ByteLevel decoder,
                                    special token <|endoftext|>, min_frequency 2, the full 256-byte initial
                                    alphabet; the whole sample is one training sequence (train_from_iterator).
  hf_bpe512.encodings.json          their ids for each test string, and the ByteLevel pre-tokenizer's pieces.
  swift_bpe512.tokenizer.json       (b) the same training done by OUR trainer, through the CLI:
                                    `pretrain tokenize --train-vocab 512 --val-fraction 0 --out TMP sample.txt`
                                    (skipped with a message when the binary is not given or not built).
  swift_bpe512.encodings.json       what `tokenizers` encodes with OUR tokenizer.json: the round trip of our
                                    merges into Hugging Face.
  hf_wordpiece500{,_cased}.tokenizer.json / .encodings.json
                                    (c) BertWordPieceTokenizer trained on sample.txt, vocab 500: lower-cased
                                    (accents stripped by default), and cased with strip_accents=True; ids with
                                    add_special_tokens=False.

The Swift tests check our encodings, pre-tokenisation and training against these files.
"""
import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from tokenizers.implementations import BertWordPieceTokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "TextDataTests" / "Fixtures"
SHAKESPEARE = ROOT / "data" / "shakespeare"

TEST_STRINGS = [
    "Hello world",
    "  leading spaces, and trailing spaces   ",
    "multiple   spaces\tand\ttabs \t mixed",
    "line one\nline two\n\n\nline five\r\nwindows line\n",
    "don't I'll we've they're he'd I'm it's DON'T IT'S",
    "'s 't 're 've 'm 'll 'd ''s x's",
    "numbers 12345 3.14159 1,000,000 ⅻ ½ ² ٣",
    "Unicode: café naïve résumé Ελληνικά Русский 中文字符 日本語 한국어 العربية",
    "emoji 👍🏽 🎉🎉 👨‍👩‍👧 ✨",
    "combining e\u0301 and precomposed \u00e9",
    "nbsp\u00a0here, ideographic\u3000space, \u2028 line separator, \u2009thin",
    "control \x00 \x1c\x1d \x85 bell\x07 del\x7f",
    "<|endoftext|>special in the middle<|endoftext|>",
    "a<|endoftext|>b <|endoftext|> c<|endoftex",
    "punctuation!!! ... ?!?! --- (brackets) [square] {curly} \"quotes\" «guillemets» — dashes",
    "$100 & 50% @ #hashtag ~tilde` ^caret |pipe",
    "",
    " ",
    "\n",
    "   ",
    "MiXeD CaSe WoRdS and ALLCAPS",
    "ThouArtAVeryLongWordWithoutSpacesThatBPEMustSplitIntoManyPieces",
    "aaaaaaaaaaaaaaaaaaaa                    word",
    "The [MASK] is here: [CLS] first [SEP] second [SEP]",
]


def shakespeare_excerpt() -> str:
    """Held-out text (not in sample.txt): the start of hamlet.txt."""
    return (SHAKESPEARE / "hamlet.txt").read_text(encoding="utf-8")[:12000]


def make_sample(path: pathlib.Path) -> None:
    parts = []
    for name, budget in [("julius_caesar.txt", 30000), ("sonnets.txt", 20000)]:
        text = (SHAKESPEARE / name).read_text(encoding="utf-8")
        parts.append(text[: text.rindex("\n", 0, budget) + 1])
    path.write_text("".join(parts), encoding="utf-8")


def train_bpe(sample: str, vocab_size: int) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([sample], trainer)
    return tok


def encodings(tok: Tokenizer, strings, pieces: bool) -> dict:
    cases = []
    for text in strings:
        case = {"text": text, "ids": tok.encode(text, add_special_tokens=False).ids}
        if pieces:
            case["pieces"] = [p for p, _ in tok.pre_tokenizer.pre_tokenize_str(text)]
        cases.append(case)
    return {"cases": cases}


def write_json(name: str, value: dict) -> None:
    """One case per line, so that a regenerated fixture diffs by case."""
    lines = [json.dumps(case, ensure_ascii=False) for case in value["cases"]]
    with open(FIXTURES / name, "w", encoding="utf-8") as f:
        f.write('{"cases": [\n' + ",\n".join(lines) + "\n]}\n")
    print("wrote", name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pretrain", default=str(ROOT / ".build" / "debug" / "pretrain"),
                        help="the pretrain binary for step (b) (default: .build/debug/pretrain)")
    args = parser.parse_args()

    FIXTURES.mkdir(parents=True, exist_ok=True)
    sample_path = FIXTURES / "sample.txt"
    if not sample_path.exists():
        make_sample(sample_path)
        print("wrote sample.txt")
    sample = sample_path.read_text(encoding="utf-8")
    strings = TEST_STRINGS + [shakespeare_excerpt()]

    # (a) Hugging Face's BPE training and encodings.
    for vocab_size in (512, 1024):
        tok = train_bpe(sample, vocab_size)
        tok.save(str(FIXTURES / f"hf_bpe{vocab_size}.tokenizer.json"), pretty=True)
        print(f"wrote hf_bpe{vocab_size}.tokenizer.json")
        if vocab_size == 512:
            write_json("hf_bpe512.encodings.json", encodings(tok, strings, pieces=True))

    # (b) Our trainer's tokenizer.json, encoded by Hugging Face.
    ours = FIXTURES / "swift_bpe512.tokenizer.json"
    if pathlib.Path(args.pretrain).exists():
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([args.pretrain, "tokenize", "--train-vocab", "512", "--val-fraction", "0",
                            "--out", out, str(sample_path)], check=True)
            shutil.copyfile(pathlib.Path(out) / "tokenizer.json", ours)
        print("wrote swift_bpe512.tokenizer.json")
    else:
        print(f"(b) skipped: {args.pretrain} not found; keeping the committed swift_bpe512.tokenizer.json",
              file=sys.stderr)
    if ours.exists():
        write_json("swift_bpe512.encodings.json", encodings(Tokenizer.from_file(str(ours)), strings, pieces=False))

    # (c) WordPiece, uncased and cased.
    for suffix, options in [("", dict(lowercase=True)), ("_cased", dict(lowercase=False, strip_accents=True))]:
        tok = BertWordPieceTokenizer(**options)
        tok.train([str(sample_path)], vocab_size=500, min_frequency=2, show_progress=False,
                  special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
        tok.save(str(FIXTURES / f"hf_wordpiece500{suffix}.tokenizer.json"), pretty=True)
        print(f"wrote hf_wordpiece500{suffix}.tokenizer.json")
        write_json(f"hf_wordpiece500{suffix}.encodings.json", encodings(tok._tokenizer, strings, pieces=False))


if __name__ == "__main__":
    main()
