"""Hugging Face `tokenizers` reference for `pretrain bench tokenizer`: the same tokenizer.json, the same files,
encode only, single thread. Prints one JSON line (mb_per_s, tokens, seconds = median over --repeats passes).

Needs tokenizers. Run: python3 bench/tokenizer_reference.py --tokenizer data/shakespeare-4096/tokenizer.json data/shakespeare
"""
import argparse
import json
import os
import statistics
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one thread, as ours
os.environ["RAYON_NUM_THREADS"] = "1"
from tokenizers import Tokenizer  # noqa: E402


def files_of(inputs):
    for path in inputs:
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                if not name.startswith(".") and name.lower().endswith((".txt", ".jsonl")):
                    yield os.path.join(path, name)
        else:
            yield path


def documents_of(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if path.lower().endswith(".jsonl"):
        return [json.loads(line)["text"] for line in text.splitlines() if line.strip()]
    return [text] if text.strip() else []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("inputs", nargs="*", default=["data/shakespeare"])
    a = ap.parse_args()
    tokenizer = Tokenizer.from_file(a.tokenizer)
    files = list(files_of(a.inputs))
    documents = [d for f in files for d in documents_of(f)]
    size = sum(len(d.encode("utf-8")) for d in documents)
    seconds, tokens = [], 0
    for _ in range(a.repeats):
        start = time.perf_counter()
        tokens = sum(len(tokenizer.encode(d, add_special_tokens=False).ids) for d in documents)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    print(json.dumps({"impl": "hf-tokenizers", "files": len(files), "bytes": size, "tokens": tokens,
                      "seconds": round(median, 4), "mb_per_s": round(size / median / 1e6, 2), "threads": 1}))


if __name__ == "__main__":
    main()
