"""What makes a result reusable: the graders as data, and the key of one student's exercise.

A result is reused when the student's file, the exercise's graders, the
grader's version and the seed are all the same as when it was graded.
"""

from __future__ import annotations

import hashlib

from grader import __version__
from grader.exercises import Exercise


def course_bundle(exercises: list[Exercise]) -> dict:
    """The graders a job needs, as data (so a job on another machine needs no shared folder)."""
    bundle = {}
    for ex in exercises:
        files = {}
        for path in sorted(ex.path.iterdir()):
            if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb" and path.name != "README.md":
                files[path.name] = path.read_bytes()
        bundle[ex.name] = {"folder": ex.path.name, "files": files}
    return {"fingerprint": _digest(bundle), "exercises": bundle}


def _digest(bundle: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(bundle):
        h.update(f"\0{name}\0{bundle[name]['folder']}\0".encode())
        for fname, data in sorted(bundle[name]["files"].items()):
            h.update(f"{fname}\0{len(data)}\0".encode())
            h.update(data)
    return h.hexdigest()


def exercise_fingerprint(ex: Exercise, bundle: dict) -> str:
    entry = bundle["exercises"][ex.name]
    h = hashlib.sha256(ex.name.encode())
    for fname, data in sorted(entry["files"].items()):
        if fname != ex.file:  # the stub is not part of the grading
            h.update(f"\0{fname}\0{len(data)}\0".encode())
            h.update(data)
    return h.hexdigest()


def result_key(file: tuple[str, bytes] | None, fingerprint: str, seed: int) -> str:
    h = hashlib.sha256(f"grader {__version__}\0seed {seed}\0{fingerprint}\0".encode())
    if file is None:
        h.update(b"missing")
    else:
        h.update(f"{file[0]}\0".encode())
        h.update(file[1])
    return h.hexdigest()[:40]
