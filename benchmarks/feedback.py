"""How well does the feedback name real mistakes? Grades tests/variants/ and prints the figures.

For every exercise with variants (tests/variants/EX/):

- each ``good/*.py`` must score full marks with no hint (a hint on correct code names a
  mistake the code does not make);
- each ``wrong/*.py`` must lose points (the verdict), and each of its ``# mistake: <text>``
  lines must appear in the hints of its failed checks (the mistake is named).

Prints one line per file and the share of wrong files with every mistake named (the
figure issue 25 asks for: 85% on the real corpus). Exit status 1 when a verdict is wrong.

    python benchmarks/feedback.py [ex06 ...] [--verbose]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ROOT / "tests" / "variants"
MISTAKE = re.compile(r"^# mistake: (.+)$", re.MULTILINE)


def expected_mistakes(path: Path) -> list[str]:
    return [m.strip() for m in MISTAKE.findall(path.read_text())]


def hints_of(result) -> str:
    """Every hint line of the failed checks (what reports and summaries show as hints)."""
    return "\n".join(h for t in result.tests if t.status != "passed" for h in t.hints)


def feedback_of(result) -> str:
    return "\n".join(t.output for t in result.tests if t.status != "passed")


def grade_variant(ex, path: Path):
    from grader.grading import grade

    (result,) = grade([ex], {ex.name: path}, use_cache=True)
    return result


def main(argv: list[str]) -> int:
    from grader.exercises import all_exercises

    verbose = "--verbose" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    exercises = [ex for ex in all_exercises(ROOT) if (VARIANTS / ex.name).is_dir()
                 and (not wanted or any(ex.name.startswith(w) for w in wanted))]
    wrong_total = named_total = some_named = 0
    bad_verdicts = []
    for ex in exercises:
        for path in sorted((VARIANTS / ex.name / "good").glob("*.py")):
            result = grade_variant(ex, path)
            hints = hints_of(result)
            ok = result.score >= result.max_score - 1e-9 and not hints
            if result.score < result.max_score - 1e-9:
                bad_verdicts.append(f"{ex.name}/good/{path.name}")
            print(f"{'ok  ' if ok else 'FAIL'} {ex.name}/good/{path.name}: {result.score:g}/{result.max_score:g}"
                  + (f", hints on correct code: {hints}" if hints else ""))
        for path in sorted((VARIANTS / ex.name / "wrong").glob("*.py")):
            result = grade_variant(ex, path)
            mistakes = expected_mistakes(path)
            feedback = feedback_of(result).lower()
            named = [m for m in mistakes if m.lower() in feedback]
            wrong_total += 1
            caught = result.score < result.max_score - 1e-9 and not result.grader_faults
            if not caught:
                bad_verdicts.append(f"{ex.name}/wrong/{path.name}")
            every = bool(mistakes) and len(named) == len(mistakes)
            named_total += every
            some_named += bool(named)
            missing = [m for m in mistakes if m not in named]
            print(f"{'ok  ' if every and caught else 'MISS'} {ex.name}/wrong/{path.name}: "
                  f"{result.score:g}/{result.max_score:g}, {len(named)}/{len(mistakes)} mistakes named"
                  + (f"; not named: {missing}" if missing else ""))
            if verbose and missing:
                print("    hints: " + hints_of(result).replace("\n", "\n           "))
    if wrong_total:
        print(f"\nevery mistake named in {named_total} of {wrong_total} wrong files "
              f"({100 * named_total / wrong_total:.0f}%); at least one in {some_named}")
    print(f"verdicts: {'all right' if not bad_verdicts else 'WRONG for ' + ', '.join(bad_verdicts)}")
    return 1 if bad_verdicts else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
