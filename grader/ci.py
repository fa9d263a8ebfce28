"""Grading a pull request from the trusted base branch (`grader ci`).

A pull request can change anything in the repository: the graders, the
metadata, the grader package, add a ``conftest.py``. None of that may change
its grade. So the grading directory is assembled from two sources:

- the **base** checkout (trusted): everything, copied as it is (without ``.git``);
- the **head** of the pull request (untrusted): only the student's files, that
  is, for each exercise of the *base* metadata, the file named by its
  ``file:`` key and its notebook (``<exercise>.ipynb`` or ``<module>.ipynb``),
  and only when they are regular files (no symlinks, no links through a
  symlinked folder) of at most 2 MB. A student file the head deleted is
  deleted (its checks fail with "no such file").

The head is either a checkout (``head_dir``) or a commit of the base
repository (``head_ref``: its blobs are read with ``git cat-file``; nothing
of it is checked out). Then the exercises are graded in this process (which
is the base branch's grader, installed from the base checkout) with the
student's code in the sandbox, and the outputs are written: ``report.json``
(the scores, the files graded, the notes, every exercise's full report),
``results.json`` (Gradescope's format),
``junit.xml``, ``summary.md`` (also appended to ``$GITHUB_STEP_SUMMARY``),
on standard output GitHub Classroom's two points notices
(:mod:`grader.course.classroom`), the ``::error`` annotations and the text
report inside a stop-commands block, and ``score``/``percent``/``passed``
(and ``result``, the Classroom reporter's input) in ``$GITHUB_OUTPUT``.

Which exercises: ``changed``, ``all``, or a list of names. ``changed`` is
decided by the student files themselves, never by a list of the pull
request's files (GitHub's stops at 3000 entries, and a pull request that adds
3000 files sorted before ``exercises/`` would hide its exercise from it): a
student file is changed when the head's bytes differ from the base's and are
none of the versions the base's history ever held at that path (so a branch
made before the instructor updated a stub, still holding the old stub, has not
changed that exercise). When an exercise has both a ``.py`` file and a
notebook, the one that holds work is graded, the ``.py`` when both do
(:func:`grader.submission.graded_file`: the rule of every command). Nothing
graded is never a pass.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from grader.exercises import Exercise, ExerciseError, all_exercises, resolve

MAX_STUDENT_BYTES = 2 * 1024 * 1024
_SKIP = {".git"}
# Not needed to grade, and possibly large, in a base checkout used locally.
_SKIP_COPY = (".git", ".venv", "venv", "__pycache__", "*.egg-info", ".pytest_cache", "node_modules")


class CIError(ExerciseError):
    """The pull request cannot be graded (bad paths or refs): a usage error."""


# -- reading the head -------------------------------------------------------------------


class NotRegular(Exception):
    """The head has something other than a regular file at a student path."""


class HeadDir:
    """The pull request as a checkout on disk (untrusted: never followed through a symlink)."""

    def __init__(self, path: Path):
        self.root = Path(path).resolve()
        if not self.root.is_dir():
            raise CIError(f"--head {path}: no such folder")

    def read(self, rel: str) -> bytes | None:
        current = self.root
        parts = Path(rel).parts
        for i, part in enumerate(parts):
            current = current / part
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                return None
            if stat.S_ISLNK(st.st_mode):
                name = parts[-1]
                raise NotRegular(f"{name} is a symbolic link" if i == len(parts) - 1
                                 else f"{name} lies under a symbolic link ({'/'.join(parts[:i + 1])})")
            if i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
                return None
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(f"{parts[-1]} is not a regular file")
        if st.st_size > MAX_STUDENT_BYTES:
            raise NotRegular(f"{parts[-1]} is larger than {MAX_STUDENT_BYTES // 1024} KB")
        fd = os.open(current, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            return f.read(MAX_STUDENT_BYTES + 1)[:MAX_STUDENT_BYTES]

    def changed(self, base: Path, limit: int = 20000) -> list[str]:
        """Paths the head holds that differ from the base (added or changed; links not followed).
        A path missing from the head is not counted: the workflow's checkout is sparse."""
        return [p for p in _tree_diff(base, self.root, limit) if os.path.lexists(self.root / p)]


class HeadRef:
    """The pull request as a commit in the base checkout's repository (read with git, never checked out)."""

    def __init__(self, repo: Path, ref: str):
        self.repo = Path(repo).resolve()
        self.ref = ref
        if ref.startswith("-"):
            raise CIError(f"--head-ref {ref!r}: not a revision")
        try:
            self.commit = self._git("rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}").strip()
        except CIError as exc:
            raise CIError(f"--head-ref {ref}: {exc}") from None

    def _git(self, *args: str, binary: bool = False):
        proc = subprocess.run(["git", "-C", str(self.repo), "-c", "core.quotepath=off", *args],
                              capture_output=True, timeout=120)
        if proc.returncode != 0:
            raise CIError(proc.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} failed")
        return proc.stdout if binary else proc.stdout.decode("utf-8", "replace")

    def read(self, rel: str) -> bytes | None:
        out = self._git("ls-tree", "-z", "--full-tree", self.commit, "--", rel, binary=True)
        entries = [e for e in out.split(b"\0") if e]
        if not entries:
            return None
        meta, _, _ = entries[0].partition(b"\t")
        mode, kind, sha = meta.decode().split()
        name = Path(rel).name
        if mode == "120000":
            raise NotRegular(f"{name} is a symbolic link")
        if kind != "blob" or mode not in ("100644", "100755"):
            raise NotRegular(f"{name} is not a regular file (mode {mode})")
        size = int(self._git("cat-file", "-s", sha).strip())
        if size > MAX_STUDENT_BYTES:
            raise NotRegular(f"{name} is larger than {MAX_STUDENT_BYTES // 1024} KB")
        return self._git("cat-file", "blob", sha, binary=True)

    def changed(self, base: Path, limit: int = 20000) -> list[str]:
        """What the pull request changed: since its merge base with the base (``git diff A...B``),
        so that what the base branch changed since the student branched off does not count."""
        try:
            base_commit = self._git("rev-parse", "--verify", "HEAD").strip()
            out = self._git("diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "--no-textconv",
                            f"{base_commit}...{self.commit}", binary=True)
        except CIError:
            return []
        return [p.decode("utf-8", "replace") for p in out.split(b"\0") if p][:limit]


def _walk(root: Path, limit: int) -> dict[str, os.stat_result]:
    found = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if d not in _SKIP]
        # .git is a file, not a folder, in a git worktree (and a submodule): skipped all the same.
        files = [f for f in files if f not in _SKIP]
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = os.lstat(path)
            if len(found) >= limit:
                return found
    return found


def _tree_diff(base: Path, head: Path, limit: int) -> list[str]:
    a, b = _walk(base, limit), _walk(head, limit)
    changed = []
    for rel in sorted(set(a) | set(b)):
        sa, sb = a.get(rel), b.get(rel)
        if sa is None or sb is None or stat.S_IFMT(sa.st_mode) != stat.S_IFMT(sb.st_mode):
            changed.append(rel)
        elif stat.S_ISLNK(sa.st_mode):
            if os.readlink(base / rel) != os.readlink(head / rel):
                changed.append(rel)
        elif sa.st_size != sb.st_size or (base / rel).read_bytes() != (head / rel).read_bytes():
            changed.append(rel)
    return changed


# -- assembling the grading directory ----------------------------------------------------------


@dataclass
class StudentFiles:
    exercise: str
    paths: list[str]  # repository-relative paths of the student files of this exercise
    changed: list[str] = field(default_factory=list)
    graded: str = ""  # the repository-relative path graded
    problems: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)  # path -> why it was not read ("... not graded")


def student_paths(ex: Exercise, root: Path) -> list[str]:
    """The student's files of ``ex``, relative to the repository: the ``.py`` file, then notebooks."""
    folder = ex.path.relative_to(root.resolve()).as_posix()
    names = [ex.file, f"{ex.name}.ipynb", f"{ex.module}.ipynb"]
    seen = []
    for name in names:
        rel = f"{folder}/{name}"
        if rel not in seen:
            seen.append(rel)
    return seen


def blob_id(data: bytes) -> str:
    """Git's object id of a file holding ``data`` (what ``git hash-object`` prints)."""
    import hashlib

    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def base_versions(base: Path) -> dict[str, set[str]] | None:
    """Every version (blob id) each path has had in the base checkout's history, or None
    where the base is not a git checkout. A shallow checkout gives its own commit's files."""
    try:
        proc = subprocess.run(["git", "-C", str(base), "-c", "core.quotepath=off", "log", "--format=", "--raw",
                               "--no-abbrev", "--no-renames", "--root", "-z", "HEAD", "--"],
                              capture_output=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    versions: dict[str, set[str]] = {}
    fields = proc.stdout.split(b"\0")
    for meta, path in zip(fields[0::2], fields[1::2]):  # ":100644 100644 OLD NEW M", path
        parts = meta.split()
        if len(parts) >= 4:
            ids = versions.setdefault(path.decode("utf-8", "surrogateescape"), set())
            ids.update(p.decode() for p in parts[2:4] if p.strip(b"0"))
    return versions


def student_changed(rel: str, data: bytes | None, base_data: bytes | None,
                    versions: dict[str, set[str]] | None) -> bool:
    """Whether the head's ``data`` at ``rel`` is the student's change: it differs from the
    base's and is no version of that file the base's history holds (a stub the student
    branched off before the instructor updated it is not a change of theirs)."""
    if data == base_data:
        return False
    return data is None or versions is None or blob_id(data) not in versions.get(rel, ())


def assemble(base: Path, head, work: Path) -> tuple[list[Exercise], dict[str, StudentFiles]]:
    """Copy ``base`` to ``work`` and put only the student files of ``head`` in it."""
    base = Path(base).resolve()
    if not (base / "exercises").is_dir():
        raise CIError(f"--base {base}: no exercises/ folder (is it the base checkout?)")
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(base, work, symlinks=True, ignore=shutil.ignore_patterns(*_SKIP_COPY))
    exercises = all_exercises(work)
    versions = base_versions(base)
    files: dict[str, StudentFiles] = {}
    for ex in exercises:
        paths = student_paths(ex, work)
        entry = StudentFiles(ex.name, paths)
        for rel in paths:
            target = work / rel
            base_bytes = (base / rel).read_bytes() if (base / rel).is_file() else None
            try:
                data = head.read(rel)
            except NotRegular as exc:
                entry.problems.append(f"{exc}: not graded")
                entry.unreadable[rel] = f"{exc}: not graded"
                data = None
            if student_changed(rel, data, base_bytes, versions):
                entry.changed.append(rel)
            if target.is_symlink() or target.exists():
                target.unlink()
            if data is not None:
                target.write_bytes(data)
        entry.graded = _graded_path(entry, work, ex)
        files[ex.name] = entry
    return exercises, files


def _graded_path(entry: StudentFiles, work: Path, ex: Exercise) -> str:
    """The file graded, by the rule every command follows (:func:`grader.submission.graded_file`:
    the one of the ``.py`` file and the notebook that holds work; the ``.py`` when both do)."""
    from grader.submission import graded_file

    py, notebooks = entry.paths[0], entry.paths[1:]
    found = [work / p for p in notebooks if (work / p).is_file() and not (work / p).is_symlink()]
    path = work / py if (work / py).is_file() and not (work / py).is_symlink() else None
    chosen, note = graded_file(path, found, ex)
    if note:
        entry.problems.append(note)
    return chosen.relative_to(work).as_posix() if chosen is not None else py


# -- the whole flow ------------------------------------------------------------------------


def _not_graded(result, why: str, path: str) -> None:
    """Every check of an exercise whose file could not be read says why (not "no such file: /tmp/...")."""
    from grader.results import FAILED

    for t in result.tests:
        t.status, t.score, t.kind, t.output = FAILED, 0.0, "submission", why
        t.file, t.line, t.function = path, 1, ""
    result.score = 0.0


@dataclass
class Outcome:
    exit_status: int
    score: float
    max_score: float
    graded: list[str]


def _select(exercises: list[Exercise], files: dict[str, StudentFiles], which: str, root: Path) -> list[Exercise]:
    which = (which or "").strip() or "changed"
    if which == "all":
        return exercises
    if which == "changed":
        return [ex for ex in exercises if files[ex.name].changed]
    names = [n for n in which.replace(",", " ").split() if n]
    chosen = {resolve(n, root).name for n in names}
    return [ex for ex in exercises if ex.name in chosen]


def run_ci(base: Path, out: Path, head_dir: Path | None = None, head_ref: str | None = None,
           which: str = "changed", pass_mark: float = 0.0, seed: int | None = None,
           hide_seed: bool = False, work: Path | None = None, log=print,
           changed_files: list[str] | None = None) -> Outcome:
    """Assemble, grade, and write the outputs; see the module docstring.

    ``seed``: a public one, or a run seed of a secret one (:func:`grader.seed.run_seed`),
    which the outputs show as ``secret:<fingerprint>/run:<nonce>`` (what staff need
    to reproduce the grade; the next run draws another nonce). ``hide_seed`` is
    no longer used: no output ever held the secret.

    ``changed_files`` (a list of the pull request's files, as earlier workflows
    passed it) is not used: a list can be cut short (GitHub's stops at 3000), so
    what changed comes from the student files themselves (:func:`student_changed`)."""
    import tempfile

    from grader.ci_report import github_annotations, github_summary, locate, stop_commands, to_junit
    from grader.grading import grade
    from grader.report import format_text, to_gradescope

    if (head_dir is None) == (head_ref is None):
        raise CIError("give the pull request as --head DIR or --head-ref REF")
    base = Path(base).resolve()
    head = HeadDir(head_dir) if head_dir is not None else HeadRef(base, head_ref)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    own_work = work is None
    work = Path(work or tempfile.mkdtemp(prefix="grader-ci-")).resolve() / "repo"
    try:
        exercises, files = assemble(base, head, work)
        selected = _select(exercises, files, which, work)
        student_rel = {p for f in files.values() for p in f.paths}
        ignored = _changed_elsewhere(head, base, student_rel)
        notes = []
        for f in files.values():
            notes += [f"{f.exercise}: {p}" for p in f.problems]
        if ignored:
            shown = ", ".join(ignored[:20]) + (f" and {len(ignored) - 20} more" if len(ignored) > 20 else "")
            notes.append("changes outside the exercise files are not used for grading (the grader, the "
                         f"graders and the metadata come from the base branch): {shown}")
        results = []
        if selected:
            submissions = {ex.name: work / files[ex.name].graded for ex in selected}
            results = grade(selected, submissions, seed=seed)
            locate(results, selected, base=work, display={ex.name: files[ex.name].graded for ex in selected})
            for r in results:
                r.submission = files[r.exercise].graded
                why = files[r.exercise].unreadable.get(r.submission)
                if why:
                    _not_graded(r, why, r.submission)
    finally:
        if own_work:
            shutil.rmtree(work.parent, ignore_errors=True)

    # The base branch's course.yaml (a pull request's copy is never read): results held until the due
    # date are withheld first, then the late policy applies, from GitHub's own time of the event.
    from grader.course import load_course
    from grader.course.apply import for_ci
    from grader.course.visibility import hold

    held = hold(results, selected, load_course(base))
    course = for_ci(base, results) if results else None
    if course is not None:
        notes = course.lines + held + notes

    total, best = sum(r.score for r in results), sum(r.max_score for r in results)
    # Nothing graded (0 of 0 points) is 0%, and never a pass.
    percent = 100.0 * total / best if best else 0.0
    faults = any(r.grader_faults for r in results)
    passed = bool(best) and percent >= pass_mark and not faults
    if not best:
        notes.insert(0, _nothing_graded(selected, which))

    data = []
    for r in results:
        d = r.to_dict()  # a secret seed shows as secret:<fingerprint>/run:<nonce>, never the secret
        d["versions"].pop("executable", None)
        data.append(d)
    report = {"score": round(total, 6), "max_score": round(best, 6), "percent": round(percent, 2),
              "pass_mark": pass_mark, "passed": passed, "exercises": [r.exercise for r in results],
              "graded_files": {r.exercise: r.submission for r in results
                               if r.submission not in files[r.exercise].unreadable},
              "notes": notes, "results": data}
    if course is not None:
        report["course"] = course.to_dict()
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    gradescope = to_gradescope(results)
    (out / "results.json").write_text(json.dumps(gradescope, indent=2) + "\n")
    (out / "junit.xml").write_text(to_junit(results))
    title = (f"Autograder: {total:g} / {best:g} ({percent:.0f}%)" + (
        f", pass mark {pass_mark:g}%: {'passed' if passed else 'not passed'}" if pass_mark else "")
        if results else "Autograder: nothing graded, not passed")
    summary = github_summary(results, title=title, notes=notes)
    (out / "summary.md").write_text(summary)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a") as f:
            f.write(summary + "\n")
    from grader.course.classroom import classroom_notices, classroom_result, encode

    classroom = classroom_result(results, {ex: e["penalty_percent"] for ex, e in course.exercises.items()}
                                 if course is not None else None)
    (out / "classroom.json").write_text(json.dumps(classroom, indent=2) + "\n")
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:
        with open(github_output, "a") as f:
            f.write(f"score={total:g}\nmax-score={best:g}\npercent={percent:.2f}\n"
                    f"passed={'true' if passed else 'false'}\n")
            # For a workflow that keeps GitHub Classroom's reporter action (grader.course.classroom).
            f.write(f"result={encode(classroom)}\n")

    # GitHub Classroom's points, first: before anything that quotes the student, and outside the
    # stop-commands block (GitHub reads no command inside it, so the student's output cannot forge them).
    notices = classroom_notices(classroom)
    for line in notices:
        log(line)
    annotations = github_annotations(results, notices=len(notices))
    if annotations:
        log(annotations)
    text = "\n\n".join(format_text(r) for r in results) or "nothing graded"
    if results:
        text += f"\n\nTotal: {total:g} / {best:g} ({percent:.0f}%)"
    if pass_mark and results:
        text += f"; pass mark {pass_mark:g}%: {'passed' if passed else 'NOT passed'}"
    for note in notes:
        text += f"\nnote: {note}"
    log(stop_commands(text))
    # Exit 1 only for a pass mark not met (the CLI's rule); nothing graded never meets one.
    status = 2 if faults else (1 if pass_mark and not passed else 0)
    return Outcome(status, total, best, [r.exercise for r in results])


def _nothing_graded(selected: list[Exercise], which: str) -> str:
    if selected:
        return "the exercises selected hold no points: nothing was graded, which is not a pass"
    if (which or "").strip() in ("", "changed"):
        return ("this pull request changes no exercise file (compared with the base branch's): nothing was "
                "graded, which is not a pass")
    return "no exercise selected: nothing was graded, which is not a pass"


def _changed_elsewhere(head, base: Path, student_rel: set[str]) -> list[str]:
    """The head's changes outside the student files (for a note: they are not used); a file
    the base's history held in that very version is not the student's change."""
    versions = None
    changed = []
    for rel in head.changed(base):
        if rel in student_rel:
            continue
        if isinstance(head, HeadDir):
            versions = (base_versions(base) or {}) if versions is None else versions
            if rel in versions:  # read only a file the base's history has (new files are changes)
                try:
                    data = head.read(rel)
                except NotRegular:
                    data = None
                if data is not None and blob_id(data) in versions[rel]:
                    continue
        changed.append(rel)
    return changed

