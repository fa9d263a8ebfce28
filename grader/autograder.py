"""The Gradescope side of ``grader bundle --gradescope``: ``python -m grader.autograder``.

``run_autograder`` (in the bundle) runs this module with the bundled grader
package first on the path. It

1. copies the student's submission from ``$AUTOGRADER_ROOT/submission``
   (default ``/autograder/submission``) to a scratch folder (symbolic links are
   kept as links and never followed);
2. finds each exercise's file in it: ``linreg.py`` at the top, in
   ``ex10_linreg/``, in ``exercises/ex10_linreg/`` (a copy of the student
   repository), a notebook ``ex10_linreg.ipynb`` or ``linreg.ipynb``, else the
   shallowest file of that name anywhere;
3. grades the bundle's exercises (all of them; with ``only_submitted`` in
   ``bundle.json``, only those found) with the bundle's seed for this run (a
   fresh nonce mixed in: :meth:`grader.seed.Seed.for_run`), hidden checks
   included, exactly as ``grader check --all --format gradescope`` does;
4. writes ``$AUTOGRADER_ROOT/results/results.json`` in Gradescope's schema,
   hidden checks with ``"visibility": "hidden"``.

If grading itself fails, results.json still says so (score 0, a message for
the student, the details on standard output, which only instructors see).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

from grader.exercises import Exercise, load_exercise
from grader.seed import Seed, weak_secret_warning

CONFIG = "bundle.json"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".git", "__MACOSX", ".ipynb_checkpoints")


def locate(submission: Path, ex: Exercise) -> Path | None:
    """The student's file (or notebook) for ``ex`` in the submission folder, or None."""
    return locate_with_note(submission, ex)[0]


def locate_with_note(submission: Path, ex: Exercise) -> tuple[Path | None, str | None]:
    """The student's file for ``ex`` and, when a ``.py`` file and a notebook are both there, a note on
    which one is graded (the rule of :func:`grader.submission.graded_file`, as for every command)."""
    from grader.submission import graded_file

    def regular(path: Path) -> bool:
        return path.is_file() and not path.is_symlink()

    pys = [submission / ex.file, submission / ex.name / ex.file, submission / "exercises" / ex.name / ex.file]
    notebooks = [submission / f"{ex.name}.ipynb", submission / f"{ex.module}.ipynb",
                 submission / ex.name / f"{ex.name}.ipynb", submission / "exercises" / ex.name / f"{ex.name}.ipynb"]
    py = next((p for p in pys if regular(p)), None)
    found_notebooks = [p for p in notebooks if regular(p)]
    if py is None or not found_notebooks:
        found = []
        for name in [ex.file, f"{ex.name}.ipynb", f"{ex.module}.ipynb"]:
            for path in submission.rglob(name):
                rel = path.relative_to(submission)
                if not regular(path) or any(p.startswith(".") or p == "__MACOSX" for p in rel.parts):
                    continue
                found.append(path)
        found.sort(key=lambda p: (len(p.relative_to(submission).parts), ex.name not in p.relative_to(submission).parts,
                                  str(p)))
        py = py or next((p for p in found if p.suffix != ".ipynb"), None)
        found_notebooks = found_notebooks or [p for p in found if p.suffix == ".ipynb"][:1]
    return graded_file(py, found_notebooks, ex)


def failure_results(message: str) -> dict:
    return {
        "score": 0.0,
        "output": message,
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }


def autograde(source: Path, submission: Path) -> dict:
    """Grade ``submission`` with the bundle in ``source``; return Gradescope's results dict."""
    import time

    from grader.grading import grade
    from grader.report import to_gradescope

    started = time.perf_counter()
    config = json.loads((source / CONFIG).read_text())
    exercises = [load_exercise(source / "exercises" / name) for name in config["exercises"]]
    work = Path(tempfile.mkdtemp(prefix="grader-autograder-"))
    try:
        copy = work / "submission"
        if submission.is_dir():
            shutil.copytree(submission, copy, symlinks=True, ignore=_IGNORE)
        else:
            copy.mkdir()
        submissions, graded, notes = {}, [], []
        for ex in exercises:
            found, chosen = locate_with_note(copy, ex)
            if found is not None:
                submissions[ex.name] = found
                graded.append(ex)
                notes.append(f"{ex.name}: graded {found.relative_to(copy)}" + (f" ({chosen})" if chosen else ""))
            elif not config.get("only_submitted"):
                # The folder itself: every check fails with "... holds no linreg.py".
                submissions[ex.name] = copy
                graded.append(ex)
                notes.append(f"{ex.name}: no {ex.file} (nor {ex.name}.ipynb) in your submission")
        if not graded:
            return failure_results("Your submission holds none of the files graded here: "
                                   + ", ".join(ex.file for ex in exercises)
                                   + ". Upload them at the top level (or your copy of the course repository).")
        print("\n".join(notes), flush=True)
        # The bundle's seed is secret (results.json shows its fingerprint and this run's nonce:
        # each run draws its own, so inputs a report reveals are of no use on resubmission).
        seed = Seed.from_secret(config["seed"]).for_run() if config.get("seed") is not None else None
        warning = weak_secret_warning(seed) if seed is not None else None
        if warning:
            print(f"grader: {warning.replace('GRADER_SEED', 'the seed in bundle.json')}", flush=True)
        if seed is not None:
            print(f"seed {seed.shown}: reproduce with GRADER_SEED=<the seed in bundle.json> grader check EXERCISE "
                  f"--run-nonce {seed.run} --submission FILE", flush=True)
        results = grade(graded, submissions, seed=seed)
        # execution_time: this run's wall time, copying and start-up included.
        data = to_gradescope(results, execution_seconds=time.perf_counter() - started)
        for test in data["tests"]:  # "/tmp/grader-autograder-xyz/submission holds no ..." reads badly
            test["output"] = test["output"].replace(str(copy), "your submission")
        data["output"] = "\n".join(notes) + "\n" + data["output"]
        # The course's late policy, from Gradescope's own record of the upload time (never the student's).
        from grader.course.apply import for_gradescope
        from grader.course.visibility import gradescope_visibility

        for_gradescope(source, submission.parent / "submission_metadata.json", results, data)
        gradescope_visibility(data, graded)  # visible | after_due_date | hidden, Gradescope's own values
        for r in results:
            print(f"{r.exercise}: {r.score:g} / {r.max_score:g}", flush=True)
            # Which isolation layers this machine's kernel allowed (instructors only see this output).
            print(f"  sandbox: {', '.join(r.sandbox) or 'no sandbox was started (no file to run)'}", flush=True)
        return data
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    root = Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    source = Path(os.environ.get("AUTOGRADER_SOURCE", root / "source"))
    results_path = root / "results" / "results.json"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = autograde(source, root / "submission")
    except Exception as exc:  # the grader's fault, never the student's: say so, keep the details
        traceback.print_exc(file=sys.stdout)
        data = failure_results(
            "The autograder could not grade this submission (this is not a problem with your code: "
            f"please tell the course staff). {type(exc).__name__}: {str(exc)[:500]}")
    results_path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {results_path}: score {data.get('score')}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
