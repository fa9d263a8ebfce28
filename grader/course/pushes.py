"""Which commit of a GitHub Classroom clone is graded: GitHub's own record of the pushes.

A clone says nothing trustworthy about when work was handed in: commit dates
are the student's (``git commit --date``, their clock) and file times are the
clone's. What GitHub records is each push: its repository activity API
(``GET /repos/OWNER/REPO/activity``) lists every push, force push and merge
with GitHub's ``timestamp``, the branch (``ref``) and the commit the branch
pointed to afterwards (``after``). The instructor saves that list for each
repository (docs/course.md gives the ``gh api`` loop) and ``grader batch
CLONES --pushes FOLDER`` grades, per assignment, the branch as GitHub had it
at the student's cutoff, with the time that commit reached the branch.

The cutoff (:func:`cutoff`): the student's late due date (extensions
applied) when the assignment has one, else their due date; no cutoff with
``after_late_due: accept`` (the last push counts, marked late). Nothing
pushed by then is nothing submitted. Only ``git`` plumbing that reads objects
(``ls-tree``, ``cat-file``) runs on the clone: no checkout, hook or filter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from grader.course.timefmt import TimeError, parse_datetime

PUSH_SOURCE = "GitHub push record (repository activity)"
_SHA = re.compile(r"^[0-9a-f]{40}$")
_ZERO = "0" * 40
_GIT_SECONDS = 60


class PushRecordError(ValueError):
    """A push record that cannot be read (the message names the file and the entry)."""


@dataclass(frozen=True)
class Push:
    after: str  # the commit the branch pointed to after the push ("000…" when it was deleted)
    ref: str  # refs/heads/<branch>
    at: datetime  # when GitHub recorded it
    kind: str  # push, force_push, pr_merge, branch_creation, ...
    order: int = 0  # the activity's id (later activities have larger ids): ties within a second


def _values(text: str):
    """The JSON values in ``text``: one array, or the pages `gh api --paginate` writes one after another."""
    decoder, pos, text = json.JSONDecoder(), 0, text.strip()
    while pos < len(text):
        value, pos = decoder.raw_decode(text, pos)
        while pos < len(text) and text[pos].isspace():
            pos += 1
        yield value


def read_pushes(path: Path) -> list[Push]:
    """The pushes in a saved activity list (an array of activities; pages of them; or ``--slurp``'s array
    of pages). Raises :class:`PushRecordError` naming the entry that is not an activity GitHub writes."""
    path = Path(path)
    try:
        values = list(_values(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PushRecordError(f"{path}: not a saved activity list ({exc})") from None
    items: list = []
    for value in values:
        for item in (value if isinstance(value, list) else [value]):
            items.extend(item if isinstance(item, list) else [item])  # --slurp: an array of pages
    pushes = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or not {"after", "ref", "timestamp"} <= set(item):
            raise PushRecordError(f"{path}, entry {n}: not a repository activity (expected after, ref and "
                                  f"timestamp, as GET /repos/OWNER/REPO/activity returns)")
        after = str(item["after"]).lower()
        if not _SHA.match(after):
            raise PushRecordError(f"{path}, entry {n}: after {item['after']!r} is not a commit id")
        try:
            at = parse_datetime(item["timestamp"], "timestamp")
        except TimeError as exc:
            raise PushRecordError(f"{path}, entry {n}: {exc}") from None
        order = item.get("id") if isinstance(item.get("id"), int) else 0
        pushes.append(Push(after, str(item["ref"]), at, str(item.get("activity_type", "push")), order))
    return pushes


def cutoff(course, assignment, identifiers: set[str]) -> datetime | None:
    """The last instant a push still counts for this student (None: any push counts)."""
    if assignment is None:
        return None
    due, late_due, _ = course.deadlines(assignment, set(identifiers))
    if late_due is not None:
        return None if course.late_policy.after_late_due == "accept" else late_due
    return due


def branch_at(pushes: list[Push], branch: str, until: datetime | None) -> tuple[str, datetime] | None:
    """The commit ``branch`` pointed to at ``until`` (None: after the last push) by GitHub's record, and when
    that commit first reached the branch (at or before ``until``); None when nothing was pushed by then."""
    ref = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
    mine = sorted((p for p in pushes if p.ref in (ref, branch) and (until is None or p.at <= until)),
                  key=lambda p: (p.at, p.order))
    if not mine or mine[-1].after == _ZERO:
        return None
    sha = mine[-1].after
    # A commit pushed on time, then replaced, then pushed back: it reached GitHub at its first push.
    return sha, min(p.at for p in mine if p.after == sha)


def _git(clone: Path, *args: str, binary: bool = False):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C",
           "HOME": os.environ.get("HOME", "/")}
    # --git-dir: this clone's own repository, never one git would find above it (a clone without .git
    # inside the course's repository).
    return subprocess.run(["git", "-c", f"safe.directory={Path(clone).resolve()}", "--git-dir",
                           str(Path(clone) / ".git"), *args],
                          capture_output=True, env=env, timeout=_GIT_SECONDS, text=not binary)


def is_clone(folder: Path) -> bool:
    """Whether ``folder`` holds its own repository (a real ``.git`` folder: not a link, nor a ``.git``
    file pointing at another repository on this machine)."""
    git_dir = Path(folder) / ".git"
    return git_dir.is_dir() and not git_dir.is_symlink()


def default_branch(clone: Path) -> str:
    """The branch the clone's remote points HEAD at (the repository's default branch), else its own."""
    for args in (("symbolic-ref", "--short", "refs/remotes/origin/HEAD"), ("symbolic-ref", "--short", "HEAD")):
        try:
            proc = _git(clone, *args)
        except (OSError, subprocess.SubprocessError):
            break
        name = proc.stdout.strip()
        if proc.returncode == 0 and name:
            return name.split("/", 1)[1] if args[-1].startswith("refs/remotes") and "/" in name else name
    return "main"


def _safe(path: str) -> bool:
    parts = path.split("/")  # not PurePosixPath: it drops "." and empty parts silently
    return bool(path) and all(
        p not in ("", ".", "..") and p.lower() != ".git" and "\\" not in p for p in parts)


def write_commit(clone: Path, sha: str, wanted, target: Path, max_bytes: int, max_total: int = 32 * 2 ** 20) -> str:
    """Write the regular files of commit ``sha`` whose path ``wanted(path)`` accepts (at most
    ``max_bytes`` each, ``max_total`` in all, the shallowest first, as discovery prefers them)
    under ``target``; return "" or why the commit cannot be read."""
    try:
        listing = _git(clone, "ls-tree", "-r", "-z", "-l", "--full-tree", sha, binary=True)
    except FileNotFoundError:
        return "git is not installed (it reads the commits of a clone)"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"git could not read the clone ({exc})"
    if listing.returncode != 0:
        return f"commit {sha[:12]} is not in the clone (fetch it: git -C {clone.name} fetch origin {sha})"
    blobs = []
    for entry in listing.stdout.split(b"\0"):
        head, _, name = entry.partition(b"\t")
        fields = head.split()
        if len(fields) != 4 or fields[0] not in (b"100644", b"100755") or fields[1] != b"blob":
            continue  # links (120000), submodules and trees are never the student's own file
        path = name.decode("utf-8", "replace")
        if _safe(path) and fields[3].isdigit() and int(fields[3]) <= max_bytes:
            blobs.append((path.count("/"), path, fields[2].decode(), int(fields[3])))
    total = 0
    for _, path, blob_id, size in sorted(blobs):
        if total + size > max_total or not wanted(path):
            continue  # (a large file does not keep the smaller ones after it out)
        total += size
        blob = _git(clone, "cat-file", "blob", blob_id, binary=True)
        if blob.returncode != 0:
            return f"commit {sha[:12]}: {path} cannot be read from the clone"
        out = target.joinpath(*PurePosixPath(path).parts)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(blob.stdout)
    return ""
