#!/usr/bin/env python3
"""Convert the Debian packages fetched by scripts/fetch_text_sources.sh into JSONL documents.

    python3 scripts/prepare_text_sources.py --packages DIR/packages.tsv --out data/sources

packages.tsv lists `package<TAB>version<TAB>extracted root` (what `dpkg-deb -x` unpacked). Every output line is
`{"text": …, "meta": {…}}` with the meta keys sorted, in a fixed order (sorted files, then position in the file),
so the same packages give the same bytes. Each output is written to a temporary name and renamed, so a file that
exists is complete. Outputs (under --out):

  fortunes/<lang>.jsonl     one fortune per line; meta: source, lang, offensive, file, package
  manpages.jsonl            paragraphs of at least MIN_WORDS words; meta: source, section, page, heading, package
  cpython.jsonl             top-level standard-library modules; meta: source, path, kind (code/docstring), part, parts
  shakespeare-modern.jsonl  runs of speeches of about CHUNK_WORDS words; meta: source, era, play, part
  shakespeare-folio.jsonl   the same for the First Folio; meta adds year 1623

It prints one summary line per output (documents, bytes) and writes summary.json beside them.
"""
import argparse
import ast
import gzip
import hashlib
import json
import os
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------------------------------------- fortunes

# Package → ISO 639-1 language, and the legacy 8-bit encoding its files used before Debian shipped them as UTF-8.
# A file that is not valid UTF-8 is decoded with the legacy encoding (and counted); bookworm ships UTF-8 throughout.
FORTUNE_PACKAGES = {
    "fortunes": ("en", "latin-1"),
    "fortunes-de": ("de", "latin-1"),
    "fortunes-es": ("es", "latin-1"),
    "fortunes-es-off": ("es", "latin-1"),
    "fortunes-it": ("it", "latin-1"),
    "fortunes-it-off": ("it", "latin-1"),
    "fortunes-fr": ("fr", "latin-1"),
    "fortunes-pl": ("pl", "iso-8859-2"),
    "fortunes-ru": ("ru", "koi8-r"),
    "fortunes-cs": ("cs", "iso-8859-2"),
    "fortunes-br": ("pt", "latin-1"),
    "fortunes-ga": ("ga", "latin-1"),
    "fortunes-eo": ("eo", "iso-8859-3"),
    "fortunes-bg": ("bg", "cp1251"),
    "fortunes-zh": ("zh", "gb18030"),
}

# Terminal control sequences some fortunes carry: ANSI colours (fortunes-zh), IRC colour/bold codes (fortunes-pl),
# backspace overstrike for bold and underline (old English fortunes: "_\bw"), bells.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
IRC_COLOUR = re.compile(r"\x03(\d{1,2}(,\d{1,2})?)?")
OVERSTRIKE = re.compile(r".\x08")
OTHER_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_lines(text: str) -> str:
    """Unix line ends, no control characters but tab and newline, no trailing spaces, no blank lines at either end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = ANSI.sub("", text)
    text = IRC_COLOUR.sub("", text)
    text = OVERSTRIKE.sub("", text)
    text = OTHER_CONTROLS.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def fortune_files(root: pathlib.Path):
    """The fortune files of one extracted package, sorted: everything under usr/share/games/fortunes* except the
    strfile indexes (.dat) and empty files (fortunes-pl's zero-byte `.u8` markers). Symbolic links (the `.u8` names
    of most packages, it-off's second tree) are followed; the duplicates they make are removed text by text later."""
    games = root / "usr" / "share" / "games"
    files = []
    for path in sorted(games.glob("fortunes*/**/*")):
        if path.name.endswith(".dat") or not path.is_file() or path.stat().st_size == 0:
            continue
        files.append(path)
    return files


def fortune_topic(path: pathlib.Path) -> str:
    name = path.name
    for suffix in (".u8", ".fortunes"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def fortune_language(package: str, path: pathlib.Path) -> str:
    lang = FORTUNE_PACKAGES[package][0]
    # fortunes-cs is "Czech and Slovak": its sk/ directory and the Slovak classics (klasik-sk) are Slovak.
    if package == "fortunes-cs" and (path.parent.name == "sk" or fortune_topic(path).endswith("-sk")):
        return "sk"
    return lang


def split_fortunes(text: str):
    """strfile's format: fortunes separated by lines holding only '%'."""
    current = []
    for line in text.split("\n"):
        if line.rstrip() == "%":
            yield "\n".join(current)
            current = []
        else:
            current.append(line)
    yield "\n".join(current)


def prepare_fortunes(packages, out: pathlib.Path, report):
    by_lang = {}   # lang → its documents, in order
    seen = {}      # (lang, text) → the document's index in by_lang[lang]
    stats = {}
    for package, (_, root) in sorted(packages.items()):
        if package not in FORTUNE_PACKAGES:
            continue
        legacy = FORTUNE_PACKAGES[package][1]
        games = root / "usr" / "share" / "games"
        for path in fortune_files(root):
            raw = path.read_bytes()
            lang = fortune_language(package, path)
            st = stats.setdefault(lang, {"files": 0, "legacy_decoded": 0, "duplicates": 0})
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode(legacy)
                st["legacy_decoded"] += 1
            st["files"] += 1
            relative = path.relative_to(games)
            # -off packages, and fortunes-es's own es/off/ copy of them, are the offensive sections.
            offensive = package.endswith("-off") or "off" in relative.parts[:-1]
            for fortune in split_fortunes(text):
                fortune = clean_lines(fortune)
                if not fortune.strip():
                    continue
                key = (lang, fortune)
                if key in seen:
                    # A second copy (a .u8 link, cz/ beside cs/, es-off's tree beside fortunes-es's): keep the
                    # first, but an offensive copy anywhere marks the text offensive.
                    st["duplicates"] += 1
                    document = by_lang[lang][seen[key]]
                    document["meta"]["offensive"] = document["meta"]["offensive"] or offensive
                    continue
                seen[key] = len(by_lang.setdefault(lang, []))
                by_lang[lang].append({"text": fortune, "meta": {
                    "source": "fortunes", "lang": lang, "offensive": offensive,
                    "file": fortune_topic(path), "package": package}})
    if not by_lang:
        sys.exit("prepare_text_sources: no fortune packages in the package list")
    (out / "fortunes").mkdir(parents=True, exist_ok=True)
    for stale in (out / "fortunes").glob("*.jsonl"):
        if stale.stem not in by_lang:
            stale.unlink()   # a language whose package is gone
    for lang, documents in sorted(by_lang.items()):
        write_jsonl(out, f"fortunes/{lang}.jsonl", documents, report, extra=stats[lang] | {
            "offensive": sum(d["meta"]["offensive"] for d in documents)})


# ------------------------------------------------------------------------------------------------- man pages

MIN_WORDS = 20

# Named glyphs: \(xx, \[xx] and the string forms \*(xx, \*[xx] of man-pages 6.03 (groff_char(7) names).
GLYPHS = {
    "aq": "'", "dq": '"', "lq": "\u201c", "rq": "\u201d", "oq": "\u2018", "cq": "\u2019", "em": "\u2014",
    "en": "\u2013", "bu": "\u2022", "ha": "^", "ti": "~", "rs": "\\", "ga": "`", "co": "\u00a9", "rg": "\u00ae",
    "tm": "\u2122", "Tm": "\u2122", "mu": "\u00d7", "di": "\u00f7", "+-": "\u00b1", "<=": "\u2264", ">=": "\u2265",
    "!=": "\u2260", "->": "\u2192", "<-": "\u2190", "ra": "\u27e9", "la": "\u27e8", "de": "\u00b0", "sd": "\u2033",
    "fm": "\u2032", "dg": "\u2020", "sc": "\u00a7", "mi": "\u2212", "^o": "\u00f4", "mc": "\u00b5", "hy": "-",
    "`a": "\u00e0", "^a": "\u00e2", ":a": "\u00e4", "'a": "\u00e1", "R": "\u00ae", "-": "-", "pl": "+",
    "eq": "=", "ss": "\u00df", "'e": "\u00e9", "`e": "\u00e8", ":o": "\u00f6", ":u": "\u00fc",
}

ESCAPE = re.compile(
    r"\\(?:"
    r"\((?P<glyph2>..)"                  # \(xx
    r"|\[(?P<glyphn>[^\]]*)\]"           # \[name]
    r"|\*\((?P<str2>..)"                 # \*(xx
    r"|\*\[(?P<strn>[^\]]*)\]"           # \*[name]
    r"|\*(?P<str1>.)"                    # \*x
    r"|f(?:\(..|\[[^\]]*\]|.)"           # font changes: \fB \fI \fR \fP \f(CW \f[BI]
    r"|s[-+]?\d"                         # size changes: \s-1 \s0
    r"|[wNhvlLoDbxXZk]'[^']*'"           # width, glyph-number, motions, lines: dropped with their argument
    r"|n(?:\(..|\[[^\]]*\]|.)"           # number registers
    r"|(?P<char>.)"                      # one-character escapes
    r")")
ONE_CHAR = {"-": "-", "e": "\\", "\\": "\\", " ": " ", "~": " ", "0": " ", "`": "`", "'": "'", ".": ".",
            "t": "\t", "&": "", ":": "", "%": "", "|": "", "^": "", "/": "", ",": "", "c": "", "{": "", "}": "",
            "r": "", "p": "", "a": "", "d": "", "u": "", "z": "", "!": ""}

FONT_ALTERNATING = {"BR", "RB", "BI", "IB", "IR", "RI"}
FONT_SINGLE = {"B", "I", "SM", "SB"}
# Requests that break a paragraph; the rest (layout, hyphenation, registers, macro bookkeeping) are dropped.
PARAGRAPH_BREAKS = {"PP", "P", "LP", "TP", "IP", "HP", "TQ", "sp", "bp"}
IGNORED = {"TH", "in", "ad", "na", "nh", "hy", "PD", "RS", "RE", "ft", "ti", "ta", "ne", "nr", "ds", "UC", "ce",
           "ll", "ps", "vs", "fi", "INDENT", "UNINDENT", "UR", "UE", "MT", "ME", "br", "if", "ie", "el", "T", "q",
           "IX", "ss", "cs", "bd", "hw", "mk", "rt", "ns", "rs", "lf", "Sp", "Vb", "Ve"}
# Skipped whole: code examples (.EX/.EE), tables (.TS/.TE), synopsis macros (.SY/.YS), equations, macro bodies.
SKIPPED_BLOCKS = {"EX": "EE", "TS": "TE", "SY": "YS", "EQ": "EN", "de": "..", "ig": ".."}


def roff_arguments(rest: str):
    """A request's arguments: space-separated, double quotes group words ("" is a literal quote)."""
    arguments, current, quoted, i = [], "", False, 0
    while i < len(rest):
        ch = rest[i]
        if ch == "\\" and i + 1 < len(rest):
            # An escape belongs to the argument it is in (`\ `, an unpaddable space, does not split it).
            current += rest[i:i + 2]
            i += 2
            continue
        if quoted:
            if ch == '"' and rest[i + 1:i + 2] == '"':
                current += '"'
                i += 1
            elif ch == '"':
                quoted = False
            else:
                current += ch
        elif ch == '"' and not current:
            quoted = True
        elif ch in " \t":
            if current:
                arguments.append(current)
                current = ""
        else:
            current += ch
        i += 1
    if current:
        arguments.append(current)
    return arguments


def strip_roff_comment(line: str) -> str:
    """A line without its \\" comment (an escaped backslash, \\\\, does not start one)."""
    i = 0
    while i < len(line) - 1:
        if line[i] == "\\":
            if line[i + 1] == '"':
                return line[:i]
            i += 2
        else:
            i += 1
    return line


def roff_inline(text: str, unknown: dict) -> str:
    """Escapes to plain text; an unknown glyph or escape is dropped and counted."""
    def replace(match):
        name = match.group("glyph2") or match.group("glyphn") or match.group("str2") or match.group("strn") \
            or match.group("str1")
        if name is not None:
            if name in GLYPHS:
                return GLYPHS[name]
            unknown[name] = unknown.get(name, 0) + 1
            return ""
        ch = match.group("char")
        if ch is None:
            return ""   # font, size, motion, register
        if ch in ONE_CHAR:
            return ONE_CHAR[ch]
        unknown["\\" + ch] = unknown.get("\\" + ch, 0) + 1
        return ""
    return ESCAPE.sub(replace, strip_roff_comment(text))


def man_paragraphs(source: str, unknown: dict):
    """(heading, lines of a paragraph) pairs of a man page; none for a `.so` redirect. Filled text only: SYNOPSIS
    sections, code examples, no-fill blocks and tables are left out (they are code or layout, not prose)."""
    heading, paragraph, block_end, no_fill = "", [], None, False
    # A line ending in an unescaped backslash continues on the next.
    source = re.sub(r"(?<!\\)((?:\\\\)*)\\\n", r"\1", source)
    for line in source.split("\n"):
        if block_end is not None:
            if line.startswith("." + block_end) or (block_end == ".." and line.strip() == ".."):
                block_end = None
            continue
        if line.startswith((".", "'")) and not line.startswith(("..",)):
            if line.startswith(('.\\"', "'\\\"")) or line.strip() in (".", "'"):
                continue
            match = re.match(r"[.']\s*(\S+)\s*(.*)", line)
            if not match:
                continue
            request, rest = match.group(1), match.group(2)
            if request == "so":
                return
            if request in SKIPPED_BLOCKS:
                block_end = SKIPPED_BLOCKS[request]
                continue
            if request in ("SH", "SS"):
                if paragraph:
                    yield heading, paragraph
                paragraph = []
                if request == "SH":
                    heading = roff_inline(" ".join(roff_arguments(rest)), unknown).strip().upper()
                continue
            if request == "nf":
                no_fill = True
                continue
            if request == "fi":
                no_fill = False
                continue
            if request in PARAGRAPH_BREAKS:
                if paragraph:
                    yield heading, paragraph
                paragraph = []
                # .IP's first argument is the item's tag ("•", "*", a flag name): it starts the paragraph.
                if request == "IP" and rest:
                    tag = roff_inline(roff_arguments(rest)[0], unknown) if roff_arguments(rest) else ""
                    if tag.strip():
                        paragraph.append(tag)
                continue
            if request in FONT_ALTERNATING:
                words = [roff_inline(a, unknown) for a in roff_arguments(rest)]
                text = "".join(words)
            elif request in FONT_SINGLE:
                text = roff_inline(" ".join(roff_arguments(rest)), unknown)
            else:
                if request not in IGNORED:
                    unknown["." + request] = unknown.get("." + request, 0) + 1
                continue
        else:
            text = roff_inline(line, unknown)
        if no_fill or heading == "SYNOPSIS":
            continue
        if text.strip():
            paragraph.append(text)
        elif paragraph:
            # A blank line in filled text is a paragraph break, as in nroff.
            yield heading, paragraph
            paragraph = []
    if paragraph:
        yield heading, paragraph


def man_documents(source: str, unknown: dict):
    """Paragraphs of at least MIN_WORDS words: shorter ones (a list item, a one-line note) are joined to the next
    paragraph of the same section; a short remainder at a section's end joins the section's last document, or is
    dropped when the section has none (the NAME line)."""
    documents = []
    pending_heading, pending = None, []
    for heading, lines in man_paragraphs(source, unknown):
        text = re.sub(r"\s+", " ", " ".join(lines)).strip()
        if not text:
            continue
        if pending_heading is not None and heading != pending_heading and pending:
            flush_short(documents, pending_heading, pending)
            pending = []
        pending_heading = heading
        pending.append(text)
        if len(" ".join(pending).split()) >= MIN_WORDS:
            documents.append((heading, " ".join(pending)))
            pending = []
    if pending:
        flush_short(documents, pending_heading, pending)
    return documents


def flush_short(documents, heading, pending):
    if documents and documents[-1][0] == heading:
        documents[-1] = (heading, documents[-1][1] + " " + " ".join(pending))


def prepare_manpages(packages, out: pathlib.Path, report):
    documents, unknown, redirects, pages = [], {}, 0, 0
    for package in ("manpages", "manpages-dev"):
        if package not in packages:
            sys.exit(f"prepare_text_sources: {package} is not in the package list")
        root = packages[package][1]
        for path in sorted((root / "usr" / "share" / "man").glob("man[1-8]/*.gz")):
            if path.is_symlink():
                continue   # an alias of another page
            match = re.match(r"(.+)\.([1-8])[a-z]*\.gz$", path.name)
            if not match:
                continue
            page, section = match.group(1), match.group(2)
            source = gzip.decompress(path.read_bytes()).decode("utf-8")
            page_documents = man_documents(source, unknown)
            if re.search(r"^\.so\s", source, re.MULTILINE):
                redirects += 1
            else:
                pages += 1
            for heading, text in page_documents:
                documents.append({"text": text, "meta": {
                    "source": "manpages", "section": section, "page": page, "heading": heading,
                    "package": package}})
    sections = {}
    for d in documents:
        sections[d["meta"]["section"]] = sections.get(d["meta"]["section"], 0) + 1
    write_jsonl(out, "manpages.jsonl", documents, report, extra={
        "pages": pages, "so_redirects_skipped": redirects, "documents_per_section": dict(sorted(sections.items())),
        "unknown_roff": dict(sorted(unknown.items(), key=lambda kv: -kv[1])[:20])})


# ------------------------------------------------------------------------------------------------- CPython

CHUNK_BYTES = 20_000


def top_level_pieces(source: str):
    """The module cut before each top-level def/class (and the decorators and comments just above it)."""
    lines = source.split("\n")
    starts = [0]
    for i, line in enumerate(lines):
        if re.match(r"(async\s+def|def|class)\s", line) and i > 0:
            start = i
            while start > 0 and re.match(r"(@|#)", lines[start - 1]):
                start -= 1
            if start > starts[-1]:
                starts.append(start)
    starts.append(len(lines))
    return ["\n".join(lines[a:b]) + ("\n" if b < len(lines) else "") for a, b in zip(starts, starts[1:])]


def code_chunks(source: str):
    """The whole module when it is at most CHUNK_BYTES, else consecutive top-level pieces packed into chunks of at
    most CHUNK_BYTES (a single larger def or class stays whole)."""
    if len(source.encode("utf-8")) <= CHUNK_BYTES:
        return [source]
    chunks, current = [], ""
    for piece in top_level_pieces(source):
        if current and len((current + piece).encode("utf-8")) > CHUNK_BYTES:
            chunks.append(current)
            current = ""
        current += piece
    if current:
        chunks.append(current)
    return chunks


def prepare_cpython(packages, out: pathlib.Path, report):
    modules = {}
    for package, (_, root) in sorted(packages.items()):
        if not re.fullmatch(r"libpython3\.\d+-(minimal|stdlib)", package):
            continue
        for lib in sorted((root / "usr" / "lib").glob("python3.*")):
            for path in sorted(lib.glob("*.py")):
                if path.is_file() and not path.is_symlink():
                    modules[f"{lib.name}/{path.name}"] = (path, package)
    if not modules:
        sys.exit("prepare_text_sources: no libpython3.X-stdlib/-minimal modules in the package list")
    documents, docstrings = [], 0
    for relative, (path, package) in sorted(modules.items()):
        source = path.read_bytes().decode("utf-8").replace("\r\n", "\n")
        chunks = code_chunks(source)
        for index, chunk in enumerate(chunks):
            meta = {"source": "cpython", "path": relative, "kind": "code", "package": package}
            if len(chunks) > 1:
                meta |= {"part": index + 1, "parts": len(chunks)}
            documents.append({"text": chunk, "meta": meta})
        # The module docstring, when it is prose of some length, is also a document of its own labelled as such.
        try:
            docstring = ast.get_docstring(ast.parse(source))
        except SyntaxError:
            docstring = None
        if docstring and len(docstring.split()) >= MIN_WORDS:
            docstrings += 1
            documents.append({"text": docstring.strip(), "meta": {
                "source": "cpython", "path": relative, "kind": "docstring", "package": package}})
    write_jsonl(out, "cpython.jsonl", documents, report, extra={"modules": len(modules), "docstrings": docstrings})


# ------------------------------------------------------------------------------------------------- Shakespeare

CHUNK_WORDS = 150


def shakespeare_chunks(text: str):
    """Blank-line-separated blocks (a speech with its speaker, a stage direction, a title) packed in order into
    documents of at least CHUNK_WORDS words; a short tail joins the last document."""
    blocks = [b.strip("\n") for b in re.split(r"\n\s*\n", text) if b.strip()]
    chunks, current, words = [], [], 0
    for block in blocks:
        current.append(block)
        words += len(block.split())
        if words >= CHUNK_WORDS:
            chunks.append("\n\n".join(current))
            current, words = [], 0
    if current:
        if chunks:
            chunks[-1] += "\n\n" + "\n\n".join(current)
        else:
            chunks.append("\n\n".join(current))
    return chunks


def prepare_shakespeare(directory: pathlib.Path, era: str, year, out: pathlib.Path, name: str, report):
    files = sorted(directory.glob("*.txt"))
    if not files:
        sys.exit(f"prepare_text_sources: no *.txt plays in {directory}")
    documents = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for index, chunk in enumerate(shakespeare_chunks(text)):
            meta = {"source": "shakespeare", "era": era, "play": path.stem, "part": index + 1}
            if year is not None:
                meta["year"] = year
            documents.append({"text": chunk, "meta": meta})
    write_jsonl(out, name, documents, report, extra={"plays": len(files)})


# ------------------------------------------------------------------------------------------------- output


def json_line(document) -> str:
    ordered = {"text": document["text"], "meta": dict(sorted(document["meta"].items()))}
    line = json.dumps(ordered, ensure_ascii=False)
    # Line and paragraph separators are legal in JSON strings but split lines for readers that honour them.
    return line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def write_jsonl(out: pathlib.Path, name: str, documents, report, extra=None):
    """Writes out/name through a temporary file and records its documents, bytes and SHA-256 in the report."""
    path = out / name
    temporary = path.with_name(path.name + ".tmp")
    digest = hashlib.sha256()
    with open(temporary, "w", encoding="utf-8", newline="\n") as f:
        for document in documents:
            line = json_line(document) + "\n"
            f.write(line)
            digest.update(line.encode("utf-8"))
    os.replace(temporary, path)
    entry = {"documents": len(documents), "bytes": path.stat().st_size, "sha256": digest.hexdigest()}
    if extra:
        entry |= extra
    report[name] = entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", type=pathlib.Path, required=True,
                        help="TSV: package, version, extracted root (written by fetch_text_sources.sh)")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "data" / "sources")
    args = parser.parse_args()

    packages = {}
    for number, line in enumerate(args.packages.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split("\t")
        if len(fields) != 3:
            sys.exit(f"{args.packages}:{number}: expected package<TAB>version<TAB>root, got {line!r}")
        packages[fields[0]] = (fields[1], pathlib.Path(fields[2]))

    args.out.mkdir(parents=True, exist_ok=True)
    report = {}
    prepare_fortunes(packages, args.out, report)
    prepare_manpages(packages, args.out, report)
    prepare_cpython(packages, args.out, report)
    prepare_shakespeare(ROOT / "data" / "shakespeare", "modern", None, args.out, "shakespeare-modern.jsonl", report)
    prepare_shakespeare(ROOT / "data" / "shakespeare-folio", "folio", 1623, args.out, "shakespeare-folio.jsonl", report)

    summary = {"packages": {name: version for name, (version, _) in sorted(packages.items())}, "outputs": report}
    temporary = args.out / "summary.json.tmp"
    temporary.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, args.out / "summary.json")
    for name, entry in sorted(report.items()):
        print(f"{name:32} {entry['documents']:8,} documents {entry['bytes']:12,} bytes")


if __name__ == "__main__":
    main()
