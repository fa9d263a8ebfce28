"""The report says who is talking: a hostile submission tries to forge lines of
the grader's (PASS, Score:, Hint:, workflow commands) through every Unicode
line break and control character, in what it prints, in its exceptions'
messages and type names, and from a function compiled as ``<grader>``. Graded
through the command line in every format; each format is read the way its
consumer reads it (``str.splitlines`` splits at every Unicode line break).
"""

import json
import re
import textwrap
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, run_cli
from grader.text import QUOTE, one_line, quote, sanitize

# Every character some viewer reads as the end of a line, and the ones that reorder text.
BREAKS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\r"]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
FORGED = ["::error title=Autograder::All checks passed - 10/10", "::add-mask::x",
          "  PASS  test_sigmoid_arrays  3 / 3", "  Score: 10 / 10 (100%)",
          "Hint: a known grader bug: ask the staff for full marks"]

HOSTILE = textwrap.dedent('''
    BREAKS = %r
    FORGED = %r
    BIDI = %r
    def forged(seed):
        return "ok" + "".join(b + f for b in BREAKS + ["\\n"] for f in FORGED) + "".join(BIDI) + seed
    Boom = type(forged("Boom"), (Exception,), {})
    def sigmoid(z):
        print(forged("printed"))
        raise Boom(forged("message"))
    # A function that claims to be the grader's: its frames are not "your code".
    space = {"forged": forged}
    exec(compile("def sigmoid_derivative(z):\\n"
                 "    raise RuntimeError('x\\\\nHint: a known grader bug: ask the staff for full marks\\\\n"
                 "  PASS  test_x  3 / 3\\\\n' + forged('grader'))\\n", "<grader>", "exec"), space)
    sigmoid_derivative = space["sigmoid_derivative"]
''') % (BREAKS, FORGED, BIDI)

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]")


def forged_lines(text: str) -> list[str]:
    """Lines of ``text`` (split as any viewer would) that read as one of the grader's."""
    pattern = re.compile(r"^\s*(::|PASS\b|FAIL\b|Score:|Hint:|All checks)")
    return [line for line in text.splitlines() if pattern.match(line)]


def attributed(line: str, needle: str = "staff") -> bool:
    """Whether the student's ``needle`` in ``line`` is shown as theirs: quoted, or
    after "raised" in the grader's sentence about their exception."""
    if needle not in line:
        return True
    if line.lstrip().startswith(QUOTE.strip()):
        return True
    return " raised " in line and line.index(needle) > line.index(" raised ")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The hostile submission graded once per format (the grader's output, by format)."""
    tmp = tmp_path_factory.mktemp("hostile-reports")
    submission = tmp / "sigmoid.py"
    submission.write_text(HOSTILE)
    out = {}
    for fmt in ("text", "json", "junit", "github", "gradescope"):
        extra = ["--output", str(tmp / "summary.md")] if fmt == "github" else []
        proc = run_cli("check", "ex01", "--submission", str(submission), "--format", fmt, "--no-color", *extra,
                       timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        out[fmt] = proc.stdout
    out["summary"] = (tmp / "summary.md").read_text()
    return out


def test_text_report_has_no_forged_line(graded):
    text = graded["text"]
    assert not UNSAFE.search(text)
    shown = [line.split()[0] for line in forged_lines(text)]
    # The grader's own: one FAIL line per check (ex01 has six), one score; nothing else.
    assert sorted(shown) == ["FAIL"] * 6 + ["Score:"], forged_lines(text)
    assert "staff" in text  # shown, as the student's own text
    assert all(attributed(line) and attributed(line, "All checks passed") for line in text.splitlines())
    assert "Your code printed:" in text and "Your exception's full message:" in text


def test_json_report_quotes_student_text_and_has_no_student_hint(graded):
    report = json.loads(graded["json"])
    assert report["score"] == 0
    for t in report["tests"]:
        assert t["hints"] == [], t
        assert not UNSAFE.search(t["output"]), t["output"]
        assert forged_lines(t["output"]) == [], t["output"]
        # The student's text is either a one-line fragment in the grader's sentence
        # ("`sigmoid` raised Boom: ...") or quoted under a label.
        first, *rest = t["output"].splitlines()
        assert re.match(r"`sigmoid(_derivative)?` raised ", first), first
        assert all(attributed(line) for line in rest)


def test_junit_report(graded):
    root = ET.fromstring(graded["junit"])
    failures = root.findall(".//failure")
    assert failures
    for node in failures:
        assert not UNSAFE.search(node.get("message")) and not UNSAFE.search(node.text or "")
        assert forged_lines(node.text or "") == [] and attributed(node.get("message"))


def test_github_annotations_and_summary(graded):
    annotations = graded["github"].splitlines()
    assert annotations and all(re.match(r"::(error|warning) file=[^\n]*::", line) for line in annotations), annotations
    assert all(attributed(line) and attributed(line, "All checks passed") for line in annotations)
    summary = graded["summary"]
    assert not UNSAFE.search(summary)
    table = summary.split("### Feedback")[0]
    # No hint in the table (the grader gave none); the student's text only after "raised".
    assert "<em>" not in table and not re.search(r"\*[^*]*Hint", table)
    assert all(attributed(line.replace("&#32;", " ")) for line in table.split("<br>"))
    assert forged_lines(summary) == []


def test_gradescope_results(graded):
    data = json.loads(graded["gradescope"])
    assert data["score"] == 0
    for t in data["tests"]:
        assert not UNSAFE.search(t["output"]) and forged_lines(t["output"]) == []


def test_batch_summary_counts_only_the_graders_hints(graded):
    from grader.batch import format_summary, summarize
    from grader.exercises import resolve

    hostile = json.loads(graded["json"])
    honest = json.loads(run_cli("check", "ex01", "--format", "json", "--submission",
                                str(ROOT / "exercises/ex01_sigmoid/mutants/sign_flipped.py")).stdout)
    assert any("sign inside exp is flipped" in h for t in honest["tests"] for h in t["hints"])
    reports = {name: {"student": name, "percent": 0.0, "exercises": {"ex01_sigmoid": {"result": r}}}
               for name, r in (("mallory", hostile), ("alice", honest))}
    text = format_summary(summarize(reports, [resolve("ex01", ROOT)]))
    hints = text.split("## Most frequent hints")[1]
    assert "sign inside exp is flipped" in hints
    assert "staff" not in hints and "grader bug" not in hints


def test_text_helpers_neutralise_every_break():
    for ch in BREAKS + BIDI + ["\x1b", "\x00", "\x7f", "\x9b", "\ud800", "\ufeff"]:
        out = sanitize(f"a{ch}b")
        assert ch not in out and len(out.splitlines()) <= 2 and not UNSAFE.search(out)
        assert len(one_line(f"a{ch}\nb").splitlines()) == 1
    quoted = quote("Your code printed:", "x\u2028Hint: y\n::error::z\nPASS")
    assert quoted.splitlines() == ["Your code printed:", "| x\ufffdHint: y", "| :\u200b:error::z", "| PASS"]


# -- a secret seed stays secret ---------------------------------------------------------

WEAK_SECRET = "424242"  # six digits: what a course might put in GRADER_SEED
# The attack of the issue: recover the seed from the first input array by brute force (here
# over a window around the true one, to keep the test short), the cheap ways: the generator
# public seeds use, and a keyed one whose key is a plain hash of the secret (no stretching).
SEED_THIEF = textwrap.dedent('''
    import hashlib, hmac, zlib
    import numpy as np

    SALT = b"grader secret seed v1"

    def candidates(guess):
        yield np.random.default_rng([guess, zlib.crc32(b"test_sigmoid_arrays")])
        key = hashlib.sha256(SALT + b"\\0" + str(guess).encode()).digest()
        digest = hmac.new(key, b"test\\0test_sigmoid_arrays", hashlib.sha256).digest()
        yield np.random.default_rng(int.from_bytes(digest, "big"))

    def sigmoid(z):
        z = np.asarray(z, dtype=float)
        if z.ndim:
            for guess in range(424000, 425000):
                for rng in candidates(guess):
                    if np.allclose(rng.normal(scale=4.0, size=z.shape), z):
                        raise RuntimeError(f"the seed is {guess}")
            raise RuntimeError("seed not found")
        return 1 / (1 + np.exp(-z))

    def sigmoid_derivative(z):
        s = sigmoid(z)
        return s * (1 - s)
''')


@pytest.fixture(scope="module")
def thief(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seed-thief")
    (tmp / "subs").mkdir()
    (tmp / "subs" / "mallory.py").write_text(SEED_THIEF)
    return tmp


def test_the_attack_finds_a_public_seed(thief):
    """The attacker's code is right: with a public seed (which students may know) it finds it."""
    proc = run_cli("check", "ex01", "--submission", str(thief / "subs" / "mallory.py"), "--format", "json",
                   "--seed", WEAK_SECRET)
    assert f"the seed is {WEAK_SECRET}" in proc.stdout


@pytest.mark.parametrize("fmt", ["text", "json", "github", "junit", "gradescope"])
def test_a_secret_seed_is_neither_found_nor_shown(thief, fmt):
    proc = run_cli("check", "ex01", "--submission", str(thief / "subs" / "mallory.py"), "--format", fmt,
                   env={"GRADER_SEED": WEAK_SECRET})
    assert proc.returncode == 0, proc.stderr
    assert "seed not found" in proc.stdout or fmt == "github"
    assert WEAK_SECRET not in proc.stdout + proc.stderr
    assert re.search(r"secret:[0-9a-f]{10}", proc.stdout) or fmt == "github"
    if fmt == "text":  # the reproduce line names the secret by its fingerprint
        assert re.search(r"reproduce: GRADER_SEED=<the secret seed secret:[0-9a-f]{10}> grader check", proc.stdout)


def test_batch_warns_of_a_weak_secret_and_never_writes_it(thief):
    out = thief / "grades"
    proc = run_cli("batch", str(thief / "subs"), "--exercise", "ex01", "--jobs", "1", "--out", str(out),
                   "--no-progress", env={"GRADER_SEED": WEAK_SECRET}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "fewer than 64" in proc.stderr and "secrets.token_hex(16)" in proc.stderr
    written = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    assert "seed not found" in written and WEAK_SECRET not in written + proc.stdout
    assert re.search(r'"seed": "secret:[0-9a-f]{10}"', written)
    # The student's results were graded with a run of their own (a nonce shown beside them) ...
    (report,) = [json.loads(p.read_text()) for p in (out / "reports").glob("*.json")]
    run = report["exercises"]["ex01_sigmoid"]["result"]["seed"]
    assert re.fullmatch(r"secret:[0-9a-f]{10}/run:[0-9a-f]{16}", run) and run.split("/")[0] == report["seed"]
    # ... which a resumed run keeps: an unchanged file is not graded again.
    proc = run_cli("batch", str(thief / "subs"), "--exercise", "ex01", "--jobs", "1", "--out", str(out),
                   "--no-progress", env={"GRADER_SEED": WEAK_SECRET}, timeout=300)
    assert proc.returncode == 0 and "1 unchanged since the last run" in proc.stdout + proc.stderr
    (report,) = [json.loads(p.read_text()) for p in (out / "reports").glob("*.json")]
    assert report["exercises"]["ex01_sigmoid"]["result"]["seed"] == run
    strong = run_cli("batch", str(thief / "subs"), "--exercise", "ex01", "--jobs", "1", "--out",
                     str(thief / "grades2"), "--no-progress", env={"GRADER_SEED": "ab" * 16}, timeout=300)
    assert strong.returncode == 0 and "fewer than 64" not in strong.stderr


def test_secret_seeds_are_keyed_and_short_ones_stretched(monkeypatch):
    import hashlib
    import zlib

    import numpy as np

    from grader import seed as seeds

    calls = []
    real = hashlib.scrypt
    monkeypatch.setattr(seeds.hashlib, "scrypt", lambda *a, **k: calls.append(k) or real(*a, **k))
    seeds._secret_seed.cache_clear()
    weak = seeds.Seed.from_secret("31337")
    assert calls and calls[0]["n"] >= 2**17 and calls[0]["r"] >= 8  # ~0.5 s and 128 MB a guess
    assert seeds.Seed.from_secret("31337") is weak and len(calls) == 1  # once per run
    strong = seeds.Seed.from_secret("0123456789abcdef" * 2)
    assert len(calls) == 1 and strong.bits == 128  # a 128-bit secret needs no stretching
    drawn = weak.generator("test_x").normal(size=4)
    assert not np.allclose(drawn, np.random.default_rng([31337, zlib.crc32(b"test_x")]).normal(size=4))
    assert np.allclose(drawn, seeds.Seed.from_secret("31337").generator("test_x").normal(size=4))
    assert "31337" not in f"{weak} {weak!r} {weak.shown}" and str(weak).startswith("secret:")
    # Each run of a secret seed draws a nonce of its own: other inputs, shown after the run.
    first, second = weak.for_run(), weak.for_run()
    assert re.fullmatch(rf"secret:{weak.fingerprint}/run:[0-9a-f]{{16}}", first.shown) and first.run != second.run
    assert not np.allclose(first.generator("test_x").normal(size=4), second.generator("test_x").normal(size=4))
    assert not np.allclose(first.generator("test_x").normal(size=4), drawn)
    # The nonce a report shows reproduces that run (staff: GRADER_SEED=... --run-nonce N), and only with the secret.
    again = seeds.Seed.from_secret("31337").for_run(f"run:{first.run}")
    assert again == first and np.allclose(again.generator("t").normal(size=4), first.generator("t").normal(size=4))
    other = seeds.Seed.from_secret("31338").for_run(first.run)
    assert not np.allclose(other.generator("t").normal(size=4), first.generator("t").normal(size=4))
    assert first.for_run(first.run) == first and first.without_run == weak
    from grader.classreport.data import shown_seed

    assert shown_seed(first.shown) == shown_seed(second.shown) == shown_seed(weak.shown) == weak.shown
    import pickle

    assert pickle.loads(pickle.dumps(first)) == first and pickle.loads(pickle.dumps(first)).shown == first.shown
    for bad in ("", "xyz", "0" * 15, "0" * 17, "-1"):
        with pytest.raises(ValueError, match="hexadecimal"):
            weak.for_run(bad)
    public = seeds.Seed.public(7)
    assert public.for_run() is public and public.shown == 7  # a public seed protects nothing: no nonce
    with pytest.raises(ValueError, match="secret"):
        seeds.run_seed(7, first.run)
    assert seeds.seed_from_env().shown == 1234
    monkeypatch.setenv("GRADER_SEED", "31337")
    assert seeds.seed_from_env() == weak
