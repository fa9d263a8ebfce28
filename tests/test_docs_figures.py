"""Figures the docs quote that drift when the course changes are derived here from the course itself.

docs/instructors.md shows `grader validate ex10`'s report: its counts (checks,
hidden checks, points, mutants) and the scores it quotes must be ex10's own.
docs/scaling.md quotes benchmarks/throughput.py: its rows must agree with each
other (a ratio is its two figures' ratio) and name what the script measures.
"""

import os
import re
from pathlib import Path

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


# -- docs/scaling.md and benchmarks/throughput.py ------------------------------------------------

SCALING = ROOT / "docs" / "scaling.md"


def test_the_benchmark_measures_the_standalone_check_cold(monkeypatch, tmp_path):
    """A batch computes every expected value afresh: the standalone check it is compared with
    must too (an empty cache each run), not replay the answers its first run cached."""
    import importlib.util
    import subprocess

    spec = importlib.util.spec_from_file_location("throughput", ROOT / "benchmarks" / "throughput.py")
    throughput = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(throughput)
    seen = []

    def fake_run(cmd, env=None, **kwargs):
        cache = env["GRADER_CACHE_DIR"]
        seen.append((cache, sorted(os.listdir(cache)), "--no-cache" in cmd))
        (Path(cache) / "oracle").mkdir()  # what a real check would leave behind
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(throughput.subprocess, "run", fake_run)
    throughput.standalone(tmp_path / "sigmoid.py", "ex01", {"GRADER_CACHE_DIR": str(tmp_path / "shared")}, 3)
    assert len(seen) == 3 and len({cache for cache, _, _ in seen}) == 3, "a cache of its own each run"
    assert all(listing == [] or no_cache for _, listing, no_cache in seen), "each run starts cold"
    assert not any(os.path.exists(cache) for cache, _, _ in seen), "and is cleaned up"


def _tables(text: str) -> list[dict[str, list[str]]]:
    """Every Markdown table of ``text`` as {first cell: the other cells}."""
    tables, rows = [], None
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if rows is None:
                rows = {}
            elif not set("".join(cells)) <= set("-: "):
                rows[cells[0]] = cells[1:]
        elif rows is not None:
            tables.append(rows)
            rows = None
    return tables


def test_the_scaling_figures_agree_with_each_other_and_with_the_script():
    figures = [t for t in _tables(SCALING.read_text()) if "batch / standalone" in t]
    assert len(figures) >= 1
    for rows in figures:
        batch = next(v for k, v in rows.items() if k.startswith("one submission in a batch"))
        alone = next(v for k, v in rows.items() if k.startswith("standalone `grader check`, cold"))
        for b, a, r in zip(batch, alone, rows["batch / standalone"], strict=True):
            ratio = float(b.split()[0]) / float(a.split()[0])
            assert abs(ratio - float(r.strip("*"))) < 0.0015, (b, a, r)
        if "speed-up" in rows:
            for one, two, speedup in zip(rows["`--jobs 1`"], rows["`--jobs 2`"], rows["speed-up"], strict=True):
                measured = float(two.split()[0]) / float(one.split()[0])
                assert abs(measured - float(speedup.split("x")[0].strip("*"))) < 0.015, (one, two, speedup)
    # The rows are the script's: it measures what they name.
    script = (ROOT / "benchmarks" / "throughput.py").read_text()
    assert "cold (an empty cache" in script and "GRADER_CACHE_DIR=cache" in script
