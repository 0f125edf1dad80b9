#!/usr/bin/env bash
# Fetch and prepare the multi-source text corpus into data/sources/ (git-ignored; docs/DATA_SOURCES.md is its data
# card): fortune cookies in fifteen languages, the Linux man pages, CPython's standard library, and the two
# Shakespeare editions of data/. Debian packages are fetched with `apt-get download` (no installation, no root) into
# data/sources/.cache/ and unpacked with `dpkg-deb -x`; scripts/prepare_text_sources.py turns them into JSONL.
#
#   scripts/fetch_text_sources.sh          # or: make sources
#
# Idempotent: data/sources/stamp lists the package versions and the hashes of the converter and the Shakespeare
# texts; when it matches and every output in summary.json still has its recorded size and SHA-256, nothing is
# fetched or written. Each output is written under a temporary name and renamed, and the stamp is written last, so
# an interrupted run is redone. A fresh Debian machine has no package lists: `apt-get update` runs once then (with
# sudo when not root), as `make deps` does. SOURCES_OUT overrides the output folder.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${SOURCES_OUT:-$ROOT/data/sources}
CACHE=$OUT/.cache
CONVERTER=$ROOT/scripts/prepare_text_sources.py

# The fortune packages: fifteen packages, two of them offensive sections; those the archive lacks (fortunes-fr in
# bookworm) are skipped.
FORTUNE_PACKAGES="fortunes fortunes-de fortunes-es fortunes-es-off fortunes-it fortunes-it-off fortunes-fr fortunes-pl
fortunes-ru fortunes-cs fortunes-br fortunes-ga fortunes-eo fortunes-bg fortunes-zh"
MAN_PACKAGES="manpages manpages-dev"

for tool in apt-get apt-cache dpkg-deb python3 sha256sum flock; do
    command -v "$tool" >/dev/null || { echo "fetch_text_sources: $tool not found (a Debian or Ubuntu system is needed)" >&2; exit 1; }
done
mkdir -p "$CACHE/debs" "$CACHE/extract"
exec 9>"$OUT/.lock"
flock -n 9 || { echo "fetch_text_sources: another run holds $OUT/.lock" >&2; exit 1; }

updated=0
apt_update() {
    [ "$updated" = 1 ] && return 1
    local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    echo "fetch_text_sources: apt-get update (package lists missing or stale)"
    $sudo apt-get update -qq
    updated=1
}

candidate() {   # the version apt would fetch, or nothing when the archive has no such package
    apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { if ($2 != "(none)") print $2 }'
}

newest_python() {   # libpython3.X: the highest X whose -stdlib package the archive has
    apt-cache pkgnames libpython3. 2>/dev/null | grep -E '^libpython3\.[0-9]+-stdlib$' | sed 's/-stdlib$//' |
        sort -t. -k2,2n | tail -1
}

# Without package lists nothing has a candidate: update once, then resolve.
if [ -z "$(candidate manpages)" ]; then apt_update; fi
python=$(newest_python)
[ -n "$python" ] || { echo "fetch_text_sources: apt knows no libpython3.X-stdlib package" >&2; exit 1; }

declare -A version=()
for package in $FORTUNE_PACKAGES $MAN_PACKAGES "$python-minimal" "$python-stdlib"; do
    v=$(candidate "$package")
    if [ -n "$v" ]; then version[$package]=$v
    else echo "fetch_text_sources: $package is not in the archive, skipped"; fi
done
for required in $MAN_PACKAGES "$python-stdlib" fortunes; do
    [ -n "${version[$required]:-}" ] || { echo "fetch_text_sources: $required is not in the archive" >&2; exit 1; }
done
packages=$(printf '%s\n' "${!version[@]}" | sort)

wanted_stamp() {
    for package in $packages; do echo "$package=${version[$package]}"; done
    echo "converter=$(sha256sum < "$CONVERTER" | cut -d' ' -f1)"
    echo "shakespeare=$(cd "$ROOT/data" && find shakespeare shakespeare-folio -name '*.txt' | sort | xargs sha256sum | sha256sum | cut -d' ' -f1)"
}
stamp=$(wanted_stamp)

outputs_complete() {   # every output of summary.json present with its recorded size and SHA-256
    python3 - "$OUT" <<'EOF'
import hashlib, json, pathlib, sys
out = pathlib.Path(sys.argv[1])
try:
    outputs = json.loads((out / "summary.json").read_text(encoding="utf-8"))["outputs"]
except (OSError, ValueError, KeyError):
    sys.exit(1)
for name, entry in outputs.items():
    path = out / name
    if not path.is_file() or path.stat().st_size != entry["bytes"] \
            or hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
        sys.exit(1)
EOF
}

print_summary() {
    python3 - "$OUT" <<'EOF'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
outputs = json.loads((out / "summary.json").read_text(encoding="utf-8"))["outputs"]
for name, entry in sorted(outputs.items()):
    print(f"{name:32} {entry['documents']:8,} documents {entry['bytes']:12,} bytes")
print(f"{'total':32} {sum(e['documents'] for e in outputs.values()):8,} documents "
      f"{sum(e['bytes'] for e in outputs.values()):12,} bytes")
EOF
}

if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$stamp" ] && outputs_complete; then
    echo "data/sources is up to date ($OUT/stamp)"
    print_summary
    exit 0
fi

# Fetch: one .deb per package and version, kept in the cache; an older version of a package is replaced. As root,
# apt would hand the download to its unprivileged _apt user, who cannot write here, and warn for every file.
download_options=()
[ "$(id -u)" = 0 ] && download_options=(-o APT::Sandbox::User=root)
fetch() {
    local package=$1 v=$2 deb
    deb=$(ls "$CACHE/debs/${package}_"*.deb 2>/dev/null | head -1 || true)
    if [ -n "$deb" ] && [ "$(dpkg-deb -f "$deb" Version)" = "$v" ]; then return 0; fi
    rm -f "$CACHE/debs/${package}_"*.deb
    (cd "$CACHE/debs" && apt-get download -qq "${download_options[@]}" "$package=$v") ||
        { apt_update && (cd "$CACHE/debs" && apt-get download -qq "${download_options[@]}" "$package=$v"); }
}
listing=$CACHE/packages.tsv.tmp
: > "$listing"
for package in $packages; do
    v=${version[$package]}
    fetch "$package" "$v"
    deb=$(ls "$CACHE/debs/${package}_"*.deb)
    [ "$(dpkg-deb -f "$deb" Package)" = "$package" ] && [ "$(dpkg-deb -f "$deb" Version)" = "$v" ] ||
        { echo "fetch_text_sources: $deb is not $package $v" >&2; exit 1; }
    target=$CACHE/extract/$package
    if [ "$(cat "$target/.version" 2>/dev/null)" != "$v" ]; then
        rm -rf "$target" "$target.tmp"
        dpkg-deb -x "$deb" "$target.tmp"
        echo "$v" > "$target.tmp/.version"
        mv "$target.tmp" "$target"
    fi
    printf '%s\t%s\t%s\n' "$package" "$v" "$target" >> "$listing"
done
mv "$listing" "$CACHE/packages.tsv"

python3 "$CONVERTER" --packages "$CACHE/packages.tsv" --out "$OUT" > /dev/null
echo "$stamp" > "$OUT/stamp.tmp"
mv "$OUT/stamp.tmp" "$OUT/stamp"
print_summary
