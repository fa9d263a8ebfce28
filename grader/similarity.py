"""Similar submissions: winnowed fingerprints of normalised Python tokens.

The method is the one MOSS and copydetect use (Schleimer, Wilkerson and
Aiken, "Winnowing: local algorithms for document fingerprinting", SIGMOD
2003), over Python's own tokens (the standard :mod:`tokenize` module):

- every identifier that is not a keyword, a builtin or an attribute becomes
  ``V``, every number ``N`` and every string ``S``; comments and blank lines
  go, so renaming variables or rewording comments changes nothing;
- a submission is cut into segments, one per function (and one per other
  top-level statement), and k-grams never cross a segment boundary, so the
  same functions in another order give the same fingerprints;
- of the hashes of the k-grams, winnowing keeps the smallest in each window
  of ``w``: any shared run of at least ``k + w - 1`` tokens is always found;
- the fingerprints of the exercise's own stub (its imports, signatures,
  docstrings and any given code) are removed, and so are those that many
  students share (common idioms are no evidence of copying).

Two submissions score the mean of the shares of each one's fingerprints
found in the other. The pairs at or above a threshold are listed, with the
shared regions, for a human to look at: it never changes a grade.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import keyword
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

K = 12  # tokens per k-gram: about one short line of code
WINDOW = 5  # winnowing window: a shared run of K + WINDOW - 1 = 16 tokens is always caught
DEFAULT_THRESHOLD = 0.65
MIN_FINGERPRINTS = 8  # below this (after the stub is removed), too little own code to compare
COMMON_SHARE = 0.2  # a fingerprint held by more than this share of the class ...
COMMON_FLOOR = 4  # ... and by more than this many students is a common idiom, not evidence
MAX_LINES_KEPT = 400  # lines of each file kept in the report, per flagged pair
SIMILARITY_FILE = "similarity.json"

_KEPT_NAMES = frozenset(keyword.kwlist) | frozenset(getattr(keyword, "softkwlist", ())) | frozenset(dir(builtins))
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_STARTS_SEGMENT = {"def", "class", "async", "@"}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


@dataclass
class StudentFile:
    """One student's file for one exercise."""

    slug: str
    student: str
    name: str
    text: str


@dataclass
class Fingerprints:
    """The winnowed hashes of one file, each with the line spans it came from."""

    spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.spans)


def normalised_tokens(text: str) -> list[list[tuple[str, int]]]:
    """The file's tokens, normalised, as segments of ``(token, line)``.

    A file that does not tokenize to the end (a syntax error) keeps the tokens
    read up to the fault: a broken file is still compared on what it has.
    """
    segments: list[list[tuple[str, int]]] = [[]]
    previous = ""
    at_line_start = True
    fstring_depth = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in _SKIPPED:
                continue
            if _FSTRING_START is not None and tok.type == _FSTRING_START:
                fstring_depth += 1
                if fstring_depth == 1:
                    segments[-1].append(("S", tok.start[0]))
                    at_line_start = False
                continue
            if fstring_depth:
                fstring_depth -= tok.type == _FSTRING_END
                continue
            if tok.type == tokenize.NEWLINE:
                word = ";"
            elif tok.type == tokenize.INDENT:
                word = "{"
            elif tok.type == tokenize.DEDENT:
                word = "}"
            elif tok.type == tokenize.NAME:
                word = tok.string if tok.string in _KEPT_NAMES or previous == "." else "V"
            elif tok.type == tokenize.NUMBER:
                word = "N"
            elif tok.type == tokenize.STRING:
                word = "S"
            else:
                word = tok.string
            # A new segment at every def/class/decorator and at every top-level statement.
            if at_line_start and tok.type not in (tokenize.INDENT, tokenize.DEDENT) \
                    and (tok.string in _STARTS_SEGMENT or tok.start[1] == 0) and segments[-1]:
                segments.append([])
            segments[-1].append((word, tok.start[0]))
            at_line_start = tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
            previous = tok.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # keep what was read
    return [s for s in segments if s]


def _hash(words: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b("\0".join(words).encode(), digest_size=8).digest(), "big")


def kgram_hashes(text: str, k: int = K) -> list[tuple[int, int, int]]:
    """Every k-gram of every segment: ``(hash, first line, last line)``, in order."""
    out = []
    for segment in normalised_tokens(text):
        words = [w for w, _ in segment]
        for i in range(len(segment) - k + 1):
            out.append((_hash(words[i:i + k]), segment[i][1], segment[i + k - 1][1]))
    return out


def fingerprints(text: str, k: int = K, window: int = WINDOW) -> Fingerprints:
    """Winnowing: the smallest hash of each window of ``window`` k-grams (the rightmost on ties)."""
    grams = kgram_hashes(text, k)
    chosen: dict[int, tuple[int, int, int]] = {}  # position -> k-gram
    if len(grams) <= window:
        chosen = dict(enumerate(grams))
    else:
        for start in range(len(grams) - window + 1):
            best = start
            for j in range(start, start + window):
                if grams[j][0] <= grams[best][0]:
                    best = j
            chosen[best] = grams[best]
    fp = Fingerprints()
    for h, first, last in chosen.values():
        fp.spans.setdefault(h, []).append((first, last))
    return fp


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching line spans merged into regions."""
    merged: list[list[int]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return [(a, b) for a, b in merged]


def _regions(shared: set[int], fa: Fingerprints, fb: Fingerprints) -> list[dict]:
    """The shared regions of two files, side by side: each region of A with the region of B it matches best."""
    a_regions = _merge([s for h in shared for s in fa.spans[h]])
    b_regions = _merge([s for h in shared for s in fb.spans[h]])

    def region_of(regions, span):
        return next(i for i, (a, b) in enumerate(regions) if a <= span[0] and span[1] <= b)

    links: dict[tuple[int, int], int] = {}
    for h in shared:
        for sa in fa.spans[h]:
            for sb in fb.spans[h]:
                key = (region_of(a_regions, sa), region_of(b_regions, sb))
                links[key] = links.get(key, 0) + 1
    matches = []
    for i, region in enumerate(a_regions):
        candidates = [(n, j) for (ia, j), n in links.items() if ia == i]
        if candidates:
            n, j = max(candidates)
            matches.append({"a": list(region), "b": list(b_regions[j]), "fingerprints": n})
    return matches


def _decode(data: bytes, name: str) -> str:
    text = data.decode("utf-8", "replace")
    if name.endswith(".ipynb"):
        try:
            cells = json.loads(text).get("cells", [])
            text = "\n\n".join("".join(c.get("source", "")) if isinstance(c.get("source"), list)
                               else str(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
        except (ValueError, AttributeError, TypeError):
            return ""
        # Magics and shell lines are not Python: drop them so the rest tokenizes.
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("%", "!")))
    return text


def compare_files(files: list[StudentFile], boilerplate: list[str] = (), threshold: float = DEFAULT_THRESHOLD,
                  k: int = K, window: int = WINDOW) -> dict:
    """Compare every pair of ``files`` (one exercise); return the pairs at or above ``threshold``.

    ``boilerplate``: texts whose code is given to every student (the stub):
    any k-gram found in them is no evidence. Returns ``compared`` (students
    compared), ``skipped`` (slug -> why), ``ignored_common`` (fingerprints
    dropped as common idioms) and ``pairs``, highest score first.
    """
    given = {h for text in boilerplate for h, _, _ in kgram_hashes(text, k)}
    prints: dict[str, Fingerprints] = {}
    by_slug = {f.slug: f for f in files}
    for f in files:
        fp = fingerprints(f.text, k, window)
        fp.spans = {h: s for h, s in fp.spans.items() if h not in given}
        prints[f.slug] = fp
    holders: dict[int, int] = {}
    for fp in prints.values():
        for h in fp.spans:
            holders[h] = holders.get(h, 0) + 1
    limit = max(COMMON_FLOOR, COMMON_SHARE * len(files))
    common = {h for h, n in holders.items() if n > limit}
    skipped = {}
    for slug, fp in list(prints.items()):
        fp.spans = {h: s for h, s in fp.spans.items() if h not in common}
        if len(fp) < MIN_FINGERPRINTS:
            skipped[slug] = "too little code of their own to compare (beyond the stub and common idioms)"
            del prints[slug]
    slugs = sorted(prints)
    pairs = []
    for i, a in enumerate(slugs):
        for b in slugs[i + 1:]:
            fa, fb = prints[a], prints[b]
            shared = fa.spans.keys() & fb.spans.keys()
            if not shared:
                continue
            a_share, b_share = len(shared) / len(fa), len(shared) / len(fb)
            score = (a_share + b_share) / 2
            if score < threshold:
                continue
            pairs.append({
                "a": _side(by_slug[a]), "b": _side(by_slug[b]),
                "score": round(score, 4), "a_share": round(a_share, 4), "b_share": round(b_share, 4),
                "shared_fingerprints": len(shared), "regions": _regions(set(shared), fa, fb),
            })
    pairs.sort(key=lambda p: (-p["score"], p["a"]["slug"], p["b"]["slug"]))
    return {"compared": len(slugs), "skipped": skipped, "ignored_common": len(common), "pairs": pairs}


def all_scores(files: list[StudentFile], boilerplate: list[str] = ()) -> list[tuple[float, str, str]]:
    """Every pair's score, highest first (for calibrating a threshold)."""
    result = compare_files(files, boilerplate, threshold=0.0)
    return [(p["score"], p["a"]["slug"], p["b"]["slug"]) for p in result["pairs"]]


def _side(f: StudentFile) -> dict:
    lines = f.text.splitlines()
    return {"slug": f.slug, "student": f.student, "file": f.name, "lines": lines[:MAX_LINES_KEPT],
            "truncated": len(lines) > MAX_LINES_KEPT}


def similarity_for_batch(submissions_path: Path, exercises, layout: str = "auto",
                         threshold: float = DEFAULT_THRESHOLD) -> dict:
    """Compare the students of a batch, per exercise (the stub of each exercise is boilerplate).

    The students are found exactly as ``grader batch`` finds them, so the
    slugs are those of ``reports/<slug>.json``.
    """
    import shutil
    import tempfile

    from grader.batch import discover, extract_zip

    source, unpacked = Path(submissions_path), None
    try:
        if source.is_file() and source.suffix == ".zip":
            unpacked = Path(tempfile.mkdtemp(prefix="grader-similarity-zip-"))
            source = extract_zip(source, unpacked)
        subs, _ = discover(source, exercises, layout)
    finally:
        if unpacked is not None:
            shutil.rmtree(unpacked, ignore_errors=True)
    result = {"threshold": threshold, "made": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "method": f"winnowing over normalised Python tokens (k={K}, window={WINDOW})",
              "exercises": {}}
    for ex in exercises:
        files = [StudentFile(s.slug, s.student, s.files[ex.name][0], _decode(s.files[ex.name][1], s.files[ex.name][0]))
                 for s in subs if ex.name in s.files]
        stub = ex.path / ex.file
        boilerplate = [stub.read_text(errors="replace")] if stub.is_file() else []
        result["exercises"][ex.name] = {"students": len(files), **compare_files(files, boilerplate, threshold)}
    return result


def write_similarity(out: Path, result: dict) -> Path:
    """``OUT/similarity.json`` (read by ``grader report``)."""
    path = Path(out) / SIMILARITY_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(path)
    return path


def format_pairs(result: dict) -> str:
    """A few lines for the terminal: the flagged pairs per exercise."""
    lines = []
    for name, ex in result["exercises"].items():
        pairs = ex["pairs"]
        lines.append(f"{name}: {len(pairs)} similar pair(s) of {ex['compared']} students compared"
                     + (":" if pairs else "."))
        for p in pairs[:10]:
            lines.append(f"  {p['score']:.0%}  {p['a']['student']} ~ {p['b']['student']}")
        if len(pairs) > 10:
            lines.append(f"  ... {len(pairs) - 10} more in report.html")
    return "\n".join(lines)
