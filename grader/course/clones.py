"""GitHub Classroom clones in `grader batch --pushes`: each student graded on the commit GitHub had at
their cutoff, with the time that commit was pushed (:mod:`grader.course.pushes` says why and how)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path, PurePosixPath

from grader.course.pushes import (PUSH_SOURCE, PushRecordError, branch_at, cutoff, default_branch, is_clone,
                                  read_pushes, write_commit)
from grader.course.timefmt import iso

_MAX_FILES = 100  # files written per commit (the shallowest): the graded ones are a handful


def _wanted(exercises) -> callable:
    """Which paths of a commit can hold a graded file (what discovery would look at)."""
    from grader.batch.discovery import _SEARCH_DEPTH, _SKIP_DIRS

    names = {n for ex in exercises for n in (ex.file, f"{ex.name}.ipynb", f"{ex.module}.ipynb")}
    any_source = len(exercises) == 1  # one exercise: a lone .py or notebook is taken, as in a folder
    count = [0]

    def wanted(path: str) -> bool:
        parts = PurePosixPath(path).parts
        if len(parts) > _SEARCH_DEPTH + 1 or any(p in _SKIP_DIRS or p.startswith(".") for p in parts[:-1]):
            return False
        if parts[-1] in names or (any_source and parts[-1].endswith((".py", ".ipynb"))):
            count[0] += 1
            return count[0] <= _MAX_FILES
        return False

    return wanted


def select_commits(course, subs, exercises, pushes_dir: Path, identifiers, log=print, deps=()) -> dict[str, dict]:
    """Replace, in place, each clone's files for ``exercises`` (and the capstones' ``deps``) with those of
    the commit its branch held at the student's cutoff, per assignment; return slug -> the submission
    times (the ``submitted`` entry of the student's report) for those with a push record."""
    from grader.batch.common import MAX_FILE_BYTES
    from grader.batch.discovery import REFUSED, _files_for
    from grader.submission import used_exercises

    pushes_dir = Path(pushes_dir)
    groups: dict = {}  # assignment name ("" for none) -> (assignment, [exercises])
    for ex in exercises:
        a = course.assignment_of(ex.name)
        groups.setdefault(a.name if a else "", (a, []))[1].append(ex)
    for dep in deps:  # a capstone's earlier layers: from the commit of the exercise that uses them
        user = next((ex for ex in exercises if dep.name in {d.name for d in used_exercises(ex)}), None)
        key = next(iter(groups)) if user is None else next(k for k, (_, exs) in groups.items() if user in exs)
        groups[key][1].append(dep)
    times, unrecorded = {}, []
    for sub in subs:
        record = pushes_dir / f"{sub.source}.json"
        if sub.path is None or not sub.path.is_dir() or not record.is_file():
            unrecorded.append(sub.source)
            continue
        try:
            pushes = read_pushes(record)
        except PushRecordError as exc:
            raise ValueError(str(exc)) from None
        if not is_clone(sub.path):
            for ex in list(exercises) + list(deps):
                sub.files.pop(ex.name, None)
                sub.missing[ex.name] = f"{sub.source} is not a git clone (no .git folder of its own){REFUSED}"
            continue
        branch = default_branch(sub.path)
        ids = identifiers(sub)
        per_assignment = {}
        for name, (assignment, exs) in groups.items():
            until = cutoff(course, assignment, ids)
            state = branch_at(pushes, branch, until)
            for ex in exs:
                sub.files.pop(ex.name, None)
                sub.notes.pop(ex.name, None)
                sub.missing.pop(ex.name, None)
            if state is None:
                nothing = f"nothing pushed to {branch}" + (f" by {course.when(until)}" if until else "") + \
                    " (GitHub's push record)"
                for ex in exs:
                    sub.missing[ex.name] = nothing
                if name:  # the source of an unknown time says why there is none (grader.course.model)
                    per_assignment[name] = {"at": None, "source": nothing, "commit": None, "nothing": True}
                continue
            sha, at = state
            folder = Path(tempfile.mkdtemp(prefix="grader-commit-"))
            try:
                why = write_commit(sub.path, sha, _wanted(exs), folder, MAX_FILE_BYTES)
                if why:
                    for ex in exs:
                        sub.missing[ex.name] = why + REFUSED  # there, but not readable here: not graded
                else:
                    files, missing, notes = _files_for(folder, exs)
                    sub.files.update(files)
                    sub.missing.update(missing)
                    pushed = f"commit {sha[:12]} of {branch}, pushed {course.when(at)}"
                    for ex in exs:
                        sub.notes[ex.name] = pushed + (f"; {notes[ex.name]}" if ex.name in notes else "")
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            if name:
                per_assignment[name] = {"at": iso(at), "source": f"{PUSH_SOURCE}, commit {sha[:12]}",
                                        "commit": sha}
        known = [v["at"] for v in per_assignment.values() if v["at"]]
        times[sub.slug] = {"at": max(known) if known else None, "source": PUSH_SOURCE if known else "",
                           "ids": sorted(ids), "assignments": per_assignment, "branch": branch}
    if unrecorded:
        shown = ", ".join(unrecorded[:10]) + (f" and {len(unrecorded) - 10} more" if len(unrecorded) > 10 else "")
        log(f"no push record in {pushes_dir} for {len(unrecorded)} clone(s) ({shown}): their files as cloned "
            f"are graded, time unknown")
    return times
