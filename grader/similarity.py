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

from grader.text import counted

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
    last_line = 1
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
            # A dedent stands at the next statement's line; it belongs to the block it closes.
            line = last_line if tok.type == tokenize.DEDENT else tok.start[0]
            segments[-1].append((word, line))
            if tok.type != tokenize.DEDENT:
                last_line = tok.end[0]
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


def _grams(segments: list[list[tuple[str, int]]], k: int) -> list[tuple[int, int, int, int]]:
    """Every k-gram as ``(hash, segment, first token, length)``; a segment shorter than ``k`` is one gram.

    Unlike :func:`kgram_hashes` this keeps short segments (``import numpy as
    np``, ``return s * (1 - s)``), so that every token of a file can be said
    to be found in the other file or not.
    """
    out = []
    for s, segment in enumerate(segments):
        words = [w for w, _ in segment]
        if len(words) < k:
            out.append((_hash(words), s, 0, len(words)))
        else:
            out.extend((_hash(words[i:i + k]), s, i, k) for i in range(len(words) - k + 1))
    return out


@dataclass
class _Tokens:
    """A file's normalised tokens and all its grams (not only the winnowed ones), for exact figures."""

    segments: list[list[tuple[str, int]]]
    grams: list[tuple[int, int, int, int]]
    own: set[tuple[int, int]]  # (segment, token) not covered by a gram of the stub

    @classmethod
    def of(cls, text: str, given: set[int], k: int) -> "_Tokens":
        segments = normalised_tokens(text)
        grams = _grams(segments, k)
        stub = {(s, i + j) for h, s, i, n in grams if h in given for j in range(n)}
        own = {(s, i) for s, seg in enumerate(segments) for i in range(len(seg))} - stub
        return cls(segments, grams, own)


def _found_share(a: _Tokens, b_hashes: set[int]) -> float:
    """Exactly which share of A's own tokens (beyond the stub) lie in a gram that B holds too."""
    if not a.own:
        return 0.0
    found = {(s, i + j) for h, s, i, n in a.grams if h in b_hashes for j in range(n)}
    return len(found & a.own) / len(a.own)


def _regions(a: _Tokens, b: _Tokens, given: set[int], most: int = 60) -> list[dict]:
    """The code the two files share, as exact pairs of line ranges.

    Grams held by both (the stub's aside) are chained along diagonals (the same
    segments, the same offset between the positions), as a diff chains
    matching lines: each chain is one run of identical normalised tokens, so
    the two ranges of a region are the same code up to names and values, and a
    region never spans two functions. A run found inside a longer one (a
    repeated idiom matched elsewhere) is left out.
    """
    at_b: dict[int, list[tuple[int, int, int]]] = {}
    for h, s, i, n in b.grams:
        if h not in given:
            at_b.setdefault(h, []).append((s, i, n))
    runs: dict[tuple[int, int, int], list[list[int]]] = {}
    for h, s, i, n in sorted(a.grams, key=lambda g: (g[1], g[2])):
        for t, j, _ in at_b.get(h, ()):
            chain = runs.setdefault((s, t, i - j), [])
            if chain and i <= chain[-1][1]:
                chain[-1][1] = max(chain[-1][1], i + n)
            else:
                chain.append([i, i + n])
    blocks = [(s, t, start, end, start - offset) for (s, t, offset), chain in runs.items() for start, end in chain]
    blocks.sort(key=lambda blk: -(blk[3] - blk[2]))
    kept: list[tuple[int, int, int, int, int]] = []
    for s, t, start, end, b_start in blocks:
        inside = any(s == ks and t == kt and ka <= start and end <= kb and kbs <= b_start
                     and b_start + (end - start) <= kbs + (kb - ka) for ks, kt, ka, kb, kbs in kept)
        if not inside:
            kept.append((s, t, start, end, b_start))
    kept = sorted(kept[:most], key=lambda blk: (blk[0], blk[2]))
    out = []
    for s, t, start, end, b_start in kept:
        sa, sb = a.segments[s], b.segments[t]
        b_end = b_start + (end - start)
        out.append({"a": [sa[start][1], sa[end - 1][1]], "b": [sb[b_start][1], sb[b_end - 1][1]],
                    "tokens": end - start})
    return out


_RUNS_CODE = {"exec", "eval", "compile", "__import__", "execfile"}
_DECODES = {"decompress", "b64decode", "b32decode", "b16decode", "b85decode", "a85decode", "unhexlify",
            "fromhex", "loads", "decode", "frombytes", "rot13"}
_BUILDS_CODE = {"CodeType", "FunctionType"}
LONG_LITERAL = 400  # characters of one string or bytes literal: data, not a message


def obfuscation(text: str) -> str | None:
    """Why this file should be read by a human, if it hides its code; ``None`` for ordinary code.

    Code that is packed (zlib, base64, marshal) and run with ``exec`` or
    ``eval`` at run time has no code of its own to fingerprint, so it is never
    compared, and it is exactly what a copier would hand in. It is flagged for
    review with what was seen; the grade is never touched.
    """
    import ast

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    runs, decodes, builds, long_literals = set(), set(), set(), 0
    try:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                # exec() or builtins.exec(), never re.compile() or a method of the student's own.
                owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None
                if name in _RUNS_CODE and (isinstance(func, ast.Name) or owner in ("builtins", "__builtins__")):
                    runs.add(name)
                elif name in _DECODES:
                    decodes.add(name)
            elif isinstance(node, ast.Name) and node.id in ("__builtins__", "builtins"):
                runs.add(node.id)
            elif isinstance(node, ast.Attribute) and node.attr in _BUILDS_CODE:
                builds.add(node.attr)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if getattr(node, "module", None) else [])
                builds.update(n for n in names if n in ("marshal",))
            elif isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) \
                    and len(node.value) >= LONG_LITERAL and not _prose(node.value):
                long_literals += 1
    except RecursionError:
        return "nested too deeply to read"
    if not runs and not builds:
        return None
    seen = [f"runs code it builds at run time ({', '.join(sorted(runs | builds))})"]
    if decodes:
        seen.append(f"decodes data ({', '.join(sorted(decodes))})")
    if long_literals:
        seen.append(f"{long_literals} encoded literal(s) of {LONG_LITERAL}+ characters")
    return "obfuscated: " + "; ".join(seen)


def _prose(value: str | bytes) -> bool:
    """A docstring or a message: mostly words and spaces, unlike base64 or hex data."""
    sample = value[:2000]
    if isinstance(sample, bytes):
        sample = sample.decode("latin-1")
    return sample.count(" ") + sample.count("\n") > len(sample) / 20


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
    dropped as common idioms), ``pairs``, highest score first, and ``review``
    (slug -> why a human should read the file: code that unpacks and runs
    itself, see :func:`obfuscation`; never a grade).
    """
    given = {h for text in boilerplate for h, *_ in _grams(normalised_tokens(text), k)}
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
    review = {f.slug: why for f in files if (why := obfuscation(f.text))}
    slugs = sorted(prints)
    exact: dict[str, _Tokens] = {}

    def tokens(slug: str) -> _Tokens:
        if slug not in exact:
            exact[slug] = _Tokens.of(by_slug[slug].text, given, k)
        return exact[slug]

    pairs = []
    for i, a in enumerate(slugs):
        for b in slugs[i + 1:]:
            fa, fb = prints[a], prints[b]
            shared = fa.spans.keys() & fb.spans.keys()
            if not shared:
                continue
            score = (len(shared) / len(fa) + len(shared) / len(fb)) / 2
            if score < threshold:
                continue
            # The score is evidence (fingerprints beyond the stub and the class's idioms); the shares
            # and regions shown beside it are exact: every token of each file is counted.
            ta, tb = tokens(a), tokens(b)
            pairs.append({
                "a": _side(by_slug[a]), "b": _side(by_slug[b]), "score": round(score, 4),
                "a_share": round(_found_share(ta, {g[0] for g in tb.grams}), 4),
                "b_share": round(_found_share(tb, {g[0] for g in ta.grams}), 4),
                "shared_fingerprints": len(shared), "regions": _regions(ta, tb, given),
            })
    pairs.sort(key=lambda p: (-p["score"], p["a"]["slug"], p["b"]["slug"]))
    return {"compared": len(slugs), "skipped": skipped, "ignored_common": len(common), "pairs": pairs,
            "review": review}


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
        lines.append(f"{name}: {counted(len(pairs), 'similar pair')} of {counted(ex['compared'], 'student')} compared"
                     + (":" if pairs else "."))
        for slug, why in sorted((ex.get("review") or {}).items()):
            lines.append(f"  review {slug}: {why}")
        for p in pairs[:10]:
            lines.append(f"  {p['score']:.0%}  {p['a']['student']} ~ {p['b']['student']}")
        if len(pairs) > 10:
            lines.append(f"  ... {len(pairs) - 10} more in report.html")
    return "\n".join(lines)
