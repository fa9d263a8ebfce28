"""Finding the students in a folder (or a ``.zip`` of one), by layout.

One folder, ``.py`` file or notebook per student; a Gradescope export
(``submission_metadata.yml`` beside ``submission_<id>/`` folders, names and
emails from the metadata); a GitHub Classroom clone
(``<assignment>-submissions/<assignment>-<login>/``, as ``gh classroom clone
student-repos`` writes it). The student's files are read here, in the
trusted process: regular files only (never through a symlink), 2 MB at most.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from grader.batch.common import MAX_FILE_BYTES, BatchError
from grader.exercises import Exercise
from grader.submission import graded_file
from grader.text import sanitize

_SKIP_DIRS = {".git", "__MACOSX", "__pycache__", ".ipynb_checkpoints", "node_modules", ".venv", "venv",
              ".pytest_cache", ".github"}
_SEARCH_DEPTH = 5
# The end of the reason when a file was there but refused (a link, too large): not graded, rather than missing.
REFUSED = ": not graded"


@dataclass
class Submission:
    student: str  # display name (sanitised)
    slug: str  # unique, safe as a file name
    source: str  # where it came from, relative to the submissions folder
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # exercise -> (file name, content)
    missing: dict[str, str] = field(default_factory=dict)  # exercise -> why nothing was found
    info: dict = field(default_factory=dict)  # email, sid, ... (Gradescope)
    notes: dict[str, str] = field(default_factory=dict)  # exercise -> which file was graded and why (both there)
    path: Path | None = None  # the student's folder or file (a Classroom clone's commits are read from it)

    def refused(self, exercise: str) -> bool:
        """Whether the student's file for ``exercise`` was there but refused (a link, too large)."""
        return self.missing.get(exercise, "").endswith(REFUSED)


def _clean_name(text: str) -> str:
    return " ".join(sanitize(str(text), 200).split()) or "unnamed"


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:80]
    return slug or "student"


def _read_regular(path: Path) -> bytes | None:
    """The file's bytes when it is a regular file (not a link) of at most 2 MB; else None."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]


def _walk_files(folder: Path, depth: int = _SEARCH_DEPTH, links: list[Path] | None = None) -> list[Path]:
    """Regular files under ``folder`` (not following links), shallowest first; the links met go in ``links``."""
    found, queue = [], deque([(folder, 0)])
    while queue:
        current, level = queue.popleft()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                if links is not None:
                    links.append(Path(entry.path))
                continue
            if entry.is_dir(follow_symlinks=False):
                if level < depth and entry.name not in _SKIP_DIRS and not entry.name.startswith("."):
                    queue.append((Path(entry.path), level + 1))
            elif entry.is_file(follow_symlinks=False):
                found.append(Path(entry.path))
    return found


def _defined_functions(data: bytes) -> set[str]:
    from grader.submission import defined_functions

    try:
        return defined_functions(data.decode("utf-8", "replace"))
    except Exception:  # RecursionError, MemoryError on hostile sources
        return set()


def _files_for(entry: Path, exercises: list[Exercise]) -> tuple[dict, dict]:
    """The student's file for each exercise, from a folder or a single file (and notes on the choice)."""
    files, missing, notes = {}, {}, {}
    if entry.is_file():
        data = _read_regular(entry)
        if data is None:
            return {}, {ex.name: f"{entry.name} is not a regular file of at most 2 MB{REFUSED}" for ex in exercises}, {}
        if len(exercises) == 1 or entry.suffix == ".ipynb":
            return {ex.name: (entry.name, data) for ex in exercises}, {}, {}
        defined = _defined_functions(data)
        for ex in exercises:
            if entry.name == ex.file or defined & set(ex.functions):
                files[ex.name] = (entry.name, data)
            else:
                missing[ex.name] = f"{entry.name} defines none of {', '.join(ex.functions)}"
        return files, missing, notes
    links: list[Path] = []
    candidates = _walk_files(entry, links=links)
    by_name: dict[str, list[Path]] = {}
    for path in candidates:
        by_name.setdefault(path.name, []).append(path)

    def first(name: str) -> Path | None:
        # Prefer exercises/<ex>/<file> (a student repository), then the shallowest.
        paths = sorted(by_name.get(name, []), key=lambda p: (ex.name not in p.parts, len(p.parts)))
        return paths[0] if paths else None

    for ex in exercises:
        notebooks = [p for p in (first(f"{ex.name}.ipynb"), first(f"{ex.module}.ipynb")) if p is not None]
        chosen, note = graded_file(first(ex.file), notebooks, ex)  # the rule every command follows
        if chosen is None and len(exercises) == 1:
            sources = [p for p in candidates if p.suffix in (".py", ".ipynb")]
            if len(sources) == 1:
                chosen = sources[0]
        if chosen is None:
            linked = [p.name for p in links if p.name in (ex.file, f"{ex.name}.ipynb", f"{ex.module}.ipynb")]
            missing[ex.name] = (f"{linked[0]} is a symbolic link, not the student's own file{REFUSED}" if linked
                                else f"no {ex.file} (nor {ex.name}.ipynb) in the submission")
            continue
        if note:
            notes[ex.name] = note
        data = _read_regular(chosen)
        if data is None:
            missing[ex.name] = f"{chosen.name} is larger than {MAX_FILE_BYTES // 1024} KB{REFUSED}"
        else:
            files[ex.name] = (chosen.name, data)
    return files, missing, notes


class _LenientLoader(yaml.SafeLoader):
    """Safe YAML that reads unknown tags (Ruby objects in Gradescope exports) as plain data."""


def _construct_unknown(loader, tag_suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_LenientLoader.add_multi_constructor("!", _construct_unknown)
_LenientLoader.add_multi_constructor("tag:", _construct_unknown)


def _gradescope_root(folder: Path) -> Path | None:
    if (folder / "submission_metadata.yml").is_file():
        return folder
    subdirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
    if len(subdirs) == 1 and (subdirs[0] / "submission_metadata.yml").is_file():
        return subdirs[0]
    return None


def _gradescope_people(meta: dict, key: str) -> tuple[str | None, dict]:
    record = meta.get(key) or {}
    submitters = record.get(":submitters") or record.get("submitters") or []
    names, info = [], {}
    for person in submitters if isinstance(submitters, list) else []:
        if not isinstance(person, dict):
            continue
        get = lambda k: person.get(f":{k}", person.get(k))  # noqa: E731
        names.append(str(get("name") or get("email") or get("sid") or ""))
        for k in ("email", "sid"):
            if get(k):
                info.setdefault(k, []).append(str(get(k)))
    info = {k: "; ".join(v) for k, v in info.items()}
    return (" & ".join(n for n in names if n) or None), info


def discover(folder: Path, exercises: list[Exercise], layout: str = "auto") -> tuple[list[Submission], str]:
    """The students in ``folder`` and the layout found (plain, gradescope or classroom)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BatchError(f"{folder}: not a folder")
    meta = None
    gs_root = _gradescope_root(folder) if layout in ("auto", "gradescope") else None
    if gs_root is not None:
        layout, folder = "gradescope", gs_root
        try:
            meta = yaml.load((folder / "submission_metadata.yml").read_text(errors="replace"),
                             Loader=_LenientLoader) or {}
        except yaml.YAMLError as exc:
            raise BatchError(f"{folder / 'submission_metadata.yml'}: unreadable ({exc})") from None
        if not isinstance(meta, dict):
            meta = {}
    elif layout == "gradescope":
        raise BatchError(f"{folder}: no submission_metadata.yml (not a Gradescope export)")
    prefix = ""
    if layout in ("auto", "classroom") and not folder.name.endswith("-submissions"):
        # `gh classroom clone` writes <assignment>-submissions/ into the folder it runs in:
        # given that folder, grade the clone (and not it as one student).
        inside = [e for e in folder.iterdir() if not e.name.startswith(".")]
        if len(inside) == 1 and inside[0].is_dir() and not inside[0].is_symlink() \
                and inside[0].name.endswith("-submissions"):
            folder, layout = inside[0], "classroom"
    if layout == "auto":
        layout = "classroom" if folder.name.endswith("-submissions") else "plain"
    if layout == "classroom" and folder.name.endswith("-submissions"):
        prefix = folder.name[: -len("-submissions")] + "-"

    entries = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        name = entry.name
        if name.startswith(".") or name in _SKIP_DIRS:
            continue
        if entry.is_symlink() or entry.is_dir() or (entry.is_file() and entry.suffix in (".py", ".ipynb")):
            entries.append(entry)  # a link is listed, and not graded (it is never followed)
    if layout == "classroom" and not prefix and len(entries) > 1:
        common = os.path.commonprefix([e.name for e in entries])
        prefix = common[: common.rfind("-") + 1] if "-" in common else ""

    submissions, seen = [], set()
    for entry in entries:
        info: dict = {}
        student = entry.stem if entry.is_file() and not entry.is_symlink() else entry.name
        if layout == "gradescope":
            if not entry.is_dir():
                continue
            named, info = _gradescope_people(meta or {}, entry.name)
            student = named or entry.name
        elif prefix and student.startswith(prefix) and len(student) > len(prefix):
            student = student[len(prefix):]
        student = _clean_name(student)
        slug, n = _slug(student), 1
        while slug.lower() in seen:
            n += 1
            slug = f"{_slug(student)}-{n}"
        seen.add(slug.lower())
        if entry.is_symlink():
            files, missing, notes = {}, {ex.name: f"{entry.name} is a symbolic link, not the student's own file or "
                                           f"folder{REFUSED}" for ex in exercises}, {}
        else:
            files, missing, notes = _files_for(entry, exercises)
        submissions.append(Submission(student, slug, entry.name, files, missing, info, notes, entry))
    return submissions, layout


def extract_zip(archive: Path, target: Path, max_bytes: int = 2 * 1024 ** 3) -> Path:
    """Unpack ``archive`` into ``target`` safely: no absolute paths, no ``..``, no links, bounded size."""
    total = 0
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            name = info.filename.replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".")]
            if not parts or name.startswith("/") or ".." in parts or info.is_dir():
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                continue
            total += info.file_size
            if total > max_bytes:
                raise BatchError(f"{archive}: more than {max_bytes // 1024 ** 2} MB uncompressed")
            dest = target.joinpath(*parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as out:
                out.write(src.read(MAX_FILE_BYTES + 1) if info.file_size > MAX_FILE_BYTES else src.read())
    return target
