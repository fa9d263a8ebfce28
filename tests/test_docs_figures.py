"""Figures the docs quote that drift when the course changes are derived here from the course itself.

docs/instructors.md shows `grader validate ex10`'s report: its counts (checks,
hidden checks, points, mutants) and the scores it quotes must be ex10's own.
"""

import re

from conftest import ROOT
from grader.exercises import resolve
from grader.grading import grade

INSTRUCTORS = ROOT / "docs" / "instructors.md"


def _validate_sample() -> str:
    text = INSTRUCTORS.read_text()
    start = text.index("```\nex10_linreg: ")
    return text[start + 4:text.index("```", start + 4)]


def test_the_validate_report_in_instructors_md_is_ex10s():
    ex = resolve("ex10", ROOT)
    sample = _validate_sample()
    lines = sample.splitlines()
    assert lines[0] == f"{ex.name}: {ex.title}"
    mutants = sorted((ex.path / "mutants").glob("*.py"))
    hidden = [c for c in ex.checks.values() if c.hidden]
    total = f"{ex.max_score:g}"
    assert f"metadata     {len(ex.checks)} checks ({len(hidden)} hidden), {total} points, " \
           f"{len(mutants)} mutants" in sample
    assert f"reference    {total} / {total} / {total} of {total} on seeds 1234, 1235, 1236" in sample
    assert f"stub         0 / {total}\n" in sample
    n = len(mutants)
    assert f"mutants      {n} / {n} caught (strength 100%), {n} / {n} with their hint" in sample
    # Each mutant row quoted scores what the mutant scores (seed 1234, the first seed).
    rows = re.findall(r"^ {10}(\w+) +(\d+(?:\.\d+)?) / (\d+(?:\.\d+)?) +caught", sample, re.MULTILINE)
    assert rows, "the sample quotes at least one mutant's row"
    by_name = {p.stem: p for p in mutants}
    for name, score, best in rows:
        assert name in by_name, f"docs quote a mutant ex10 does not have: {name}"
        (result,) = grade([ex], {ex.name: by_name[name]}, seed=1234)
        assert (f"{result.score:g}", f"{result.max_score:g}") == (score, best), name
