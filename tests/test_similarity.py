"""Similar submissions: winnowing over normalised Python tokens (grader/similarity.py), no grading involved."""

import json

import pytest

from classgen import HEADER, disguised_copy, independent_submission, similarity_class
from conftest import ROOT
from grader.similarity import (DEFAULT_THRESHOLD, MIN_FINGERPRINTS, StudentFile, _decode, compare_files,
                               fingerprints, normalised_tokens)

STUB03 = (ROOT / "exercises" / "ex03_logreg" / "logreg.py").read_text()
REF01 = (ROOT / "solutions" / "ex01_sigmoid" / "sigmoid.py").read_text()
STUB01 = (ROOT / "exercises" / "ex01_sigmoid" / "sigmoid.py").read_text()


def _files(sources: dict) -> list:
    return [StudentFile(name, name.title(), "logreg.py", text) for name, text in sources.items()]


@pytest.mark.parametrize("seed", [15, 23, 31])
def test_the_copied_pairs_of_a_class_of_40_are_on_top_and_alone(seed):
    sources, copies = similarity_class(seed, students=40, copies=3)
    assert len(sources) == 40 and len(set(sources.values())) == 40
    result = compare_files(_files(sources), [STUB03])
    flagged = [(p["a"]["slug"], p["b"]["slug"]) for p in result["pairs"]]
    assert sorted(flagged) == sorted(copies), f"flagged {flagged}, copies {copies}"
    assert all(p["score"] >= DEFAULT_THRESHOLD for p in result["pairs"])
    # The ranking itself: below the threshold, every other pair scores under the lowest copy.
    everything = compare_files(_files(sources), [STUB03], threshold=0.0)["pairs"]
    ranked = [(p["a"]["slug"], p["b"]["slug"]) for p in everything]
    assert sorted(ranked[:3]) == sorted(copies)
    assert everything[3]["score"] < DEFAULT_THRESHOLD


def test_the_generated_submissions_differ_in_algorithm_not_only_in_names():
    sources, _ = similarity_class(15)
    text = "\n".join(sources.values())
    # Several algorithms and structures are present across the class.
    for marker in ("np.tanh", "np.logaddexp", "while ", "for ", "np.einsum", "np.where", "dict(", ".astype("):
        assert marker in text, marker
    token_streams = {tuple(w for seg in normalised_tokens(s) for w, _ in seg) for s in sources.values()}
    assert len(token_streams) >= 37  # not one program under 40 sets of names


def test_renamed_variables_and_reordered_functions_still_match_fully():
    import random

    original = independent_submission(random.Random(3))
    copy = disguised_copy(original, random.Random(4))
    assert copy != original
    pair = compare_files([StudentFile("a", "A", "x.py", original), StudentFile("b", "B", "x.py", copy)],
                         [STUB03])["pairs"]
    assert len(pair) == 1 and pair[0]["score"] >= 0.9


def test_the_stub_and_given_code_are_no_evidence():
    # Two students hand in the stub with one different line each: all they share is the course's code.
    a = STUB03.replace('raise NotImplementedError("predict")', "return (w.T @ X + b > 0).astype(float)", 1)
    b = STUB03.replace('raise NotImplementedError("predict")',
                       "probabilities = 1 / (1 + np.exp(-np.dot(w.T, X) - b))\n    return np.where(probabilities > 0.5, 1.0, 0.0)", 1)
    files = [StudentFile("a", "A", "s.py", a), StudentFile("b", "B", "s.py", b)]
    result = compare_files(files, [STUB03], threshold=0.0)
    assert result["pairs"] == []
    assert "a" in result["skipped"]  # one line of its own: too little to compare
    # Without the stub as boilerplate, half of each file matches the other: the subtraction is what clears them.
    (pair,) = compare_files(files, [], threshold=0.0)["pairs"]
    assert pair["score"] > 0.4


def test_shared_regions_point_at_the_shared_code():
    import random

    rng = random.Random(8)
    original = HEADER + "\n\n" + REF01.split("import numpy as np\n", 1)[1]
    copy = disguised_copy(original, rng)
    unrelated = independent_submission(rng)  # a third file, so the pair's regions are not trivial
    result = compare_files([StudentFile("a", "A", "a.py", original), StudentFile("b", "B", "b.py", copy),
                            StudentFile("c", "C", "c.py", unrelated)], [STUB01])
    (pair,) = result["pairs"]
    assert {pair["a"]["slug"], pair["b"]["slug"]} == {"a", "b"}
    a_lines, b_lines = pair["a"]["lines"], pair["b"]["lines"]
    for region in pair["regions"]:
        a_text = "\n".join(a_lines[region["a"][0] - 1:region["a"][1]])
        b_text = "\n".join(b_lines[region["b"][0] - 1:region["b"][1]])
        # The same code on both sides, up to the names: the same NumPy calls in the same order.
        calls = lambda t: [w for w in ("np.exp", "np.abs", "np.where", "np.asarray", ".ndim") if w in t]  # noqa: E731
        assert calls(a_text) == calls(b_text)
    covered = {n for r in pair["regions"] for n in range(r["a"][0], r["a"][1] + 1)}
    assert any("np.where" in a_lines[n - 1] for n in covered)


def test_broken_files_are_compared_on_what_they_have():
    broken = REF01 + "\ndef oops(:\n    pass\n"  # a syntax error at the end
    fp = fingerprints(broken)
    assert len(fp) >= MIN_FINGERPRINTS
    result = compare_files([StudentFile("a", "A", "s.py", REF01), StudentFile("b", "B", "s.py", broken),
                            StudentFile("c", "C", "s.py", "def sigmoid(z:\n"),
                            StudentFile("d", "D", "s.py", "\x00\x01 not python at all \"\"\"")], [STUB01])
    assert [(p["a"]["slug"], p["b"]["slug"]) for p in result["pairs"]] == [("a", "b")]
    assert {"c", "d"} <= set(result["skipped"])


def test_a_notebook_is_compared_on_its_code_cells():
    notebook = {"cells": [{"cell_type": "markdown", "source": "# sigmoid"},
                          {"cell_type": "code", "source": ["%matplotlib inline\n", "import numpy as np\n"]},
                          {"cell_type": "code", "source": REF01.split("import numpy as np\n", 1)[1]}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    code = _decode(json.dumps(notebook).encode(), "s.ipynb")
    assert "%matplotlib" not in code and "def sigmoid_derivative" in code
    result = compare_files([StudentFile("a", "A", "s.py", REF01), StudentFile("b", "B", "s.ipynb", code)], [STUB01])
    assert len(result["pairs"]) == 1 and result["pairs"][0]["score"] > 0.9
    assert _decode(b"{not json", "x.ipynb") == ""


SIGMOID_A = '''import numpy as np


def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    e = np.exp(z[~positive])
    out[~positive] = e / (1.0 + e)
    return out


def sigmoid_derivative(z):
    s = sigmoid(z)
    return s * (1 - s)
'''
# The same sigmoid under other names; a derivative written another way.
SIGMOID_B = SIGMOID_A.replace("positive", "pos").replace("out", "res").replace(
    "    s = sigmoid(z)\n    return s * (1 - s)\n",
    "    value = sigmoid(z)\n    one_minus = 1.0 - value\n    product = value * one_minus\n    return product\n")


def test_shares_are_exact_when_the_evidence_is_complete():
    files = [StudentFile("a", "A", "s.py", SIGMOID_A), StudentFile("b", "B", "s.py", SIGMOID_B)]
    (pair,) = compare_files(files, [STUB01], threshold=0.0)["pairs"]
    # The derivatives differ: neither file is wholly found in the other, whatever the fingerprints say.
    assert pair["a_share"] < 1 and pair["b_share"] < 1
    assert pair["a_share"] > 0.6 and pair["b_share"] > 0.5
    # The shares count tokens: B's longer derivative makes B's share the smaller one.
    assert pair["b_share"] < pair["a_share"]
    # A file compared with its renamed copy is found whole, both ways.
    (same,) = compare_files([StudentFile("a", "A", "s.py", SIGMOID_A),
                             StudentFile("c", "C", "s.py", SIGMOID_A.replace("out", "o"))], [STUB01])["pairs"]
    assert same["a_share"] == same["b_share"] == 1.0


def test_regions_pair_identical_code_and_never_span_two_functions():
    files = [StudentFile("a", "A", "s.py", SIGMOID_A), StudentFile("b", "B", "s.py", SIGMOID_B)]
    (pair,) = compare_files(files, [STUB01], threshold=0.0)["pairs"]
    a_lines, b_lines = SIGMOID_A.splitlines(), SIGMOID_B.splitlines()
    a_derivative = next(i for i, line in enumerate(a_lines, 1) if line.startswith("def sigmoid_derivative"))
    b_derivative = next(i for i, line in enumerate(b_lines, 1) if line.startswith("def sigmoid_derivative"))
    assert pair["regions"]
    for region in pair["regions"]:
        (a0, a1), (b0, b1) = region["a"], region["b"]
        # One function on each side, and the same one.
        assert (a0 < a_derivative) == (a1 < a_derivative) == (b0 < b_derivative) == (b1 < b_derivative)
        # The same code up to names: the same line count and the same calls on each line.
        assert a1 - a0 == b1 - b0
        for line_a, line_b in zip(a_lines[a0 - 1:a1], b_lines[b0 - 1:b1]):
            assert [w for w in ("np.exp", "np.empty_like", "np.asarray", "return") if w in line_a] == \
                   [w for w in ("np.exp", "np.empty_like", "np.asarray", "return") if w in line_b]
    # The derivative bodies differ, so the last lines of each file are outside every region.
    assert all(r["a"][1] < len(a_lines) and r["b"][1] < len(b_lines) for r in pair["regions"])


PACKED = '''import zlib, base64
exec(zlib.decompress(base64.b64decode({blob!r})))
'''


def test_code_that_unpacks_and_runs_itself_is_flagged_for_review_only():
    import base64
    import zlib

    from grader.similarity import obfuscation

    blob = base64.b64encode(zlib.compress(REF01.encode() * 3)).decode()
    packed = PACKED.format(blob=blob)
    why = obfuscation(packed)
    assert why and why.startswith("obfuscated") and "exec" in why and "b64decode" in why
    via_builtins = "import builtins, marshal\nbuiltins.exec(marshal.loads(b'...'))\n"
    assert "exec" in obfuscation(via_builtins)
    # Ordinary code, a regular expression compiled, a long docstring: nothing to review.
    for text in (REF01, STUB01, "import re\nPATTERN = re.compile('a+')\n",
                 f'def f():\n    """{"word " * 200}"""\n    return 1\n', "def broken(:\n"):
        assert obfuscation(text) is None, text
    result = compare_files([StudentFile("a", "A", "s.py", REF01), StudentFile("p", "P", "s.py", packed)], [STUB01])
    assert set(result["review"]) == {"p"} and result["review"]["p"] == why
    assert "p" in result["skipped"]  # still no code of its own to compare: the review list is what shows it
