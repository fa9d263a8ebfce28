"""``grader diff OLD_GRADES NEW_GRADES``: what changed between two batch runs, per student, and why.

Every student whose grade changed is listed, per exercise and per check, with
the reasons the reports can prove: the submission's file changed, the graders
changed (a grader fixed), the seed or the grader version changed, an extension
was added or changed, the submission time or the late penalty changed.
Students whose grade did not change are counted, not listed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


class DiffError(ValueError):
    """A folder is not a batch output."""


@dataclass
class StudentChange:
    student: str
    old_final: float | None
    new_final: float | None
    lines: list[str] = field(default_factory=list)


@dataclass
class Diff:
    changed: list[StudentChange]
    unchanged: int
    only_old: list[str]
    only_new: list[str]


def _reports(folder: Path) -> dict[str, dict]:
    folder = Path(folder)
    if not (folder / "reports").is_dir():
        raise DiffError(f"{folder}: no reports/ folder (the output folder of grader batch)")
    out = {}
    for path in sorted((folder / "reports").glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            raise DiffError(f"{path}: unreadable") from None
        if isinstance(data, dict) and "exercises" in data:
            out[data.get("slug", path.stem)] = data
    return out


def _final(r: dict) -> float:
    return float(r.get("final_score", r.get("score", 0.0)))


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.2f}".rstrip("0").rstrip(".")


def _exercise_reasons(old: dict, new: dict, old_r: dict, new_r: dict) -> list[str]:
    reasons = []
    if old.get("file_sha") != new.get("file_sha") or old.get("file") != new.get("file"):
        reasons.append("the submitted file changed")
    if old.get("graders") and new.get("graders") and old["graders"] != new["graders"]:
        reasons.append("the graders changed (a grader fixed or updated)")
    if old_r.get("seed") != new_r.get("seed"):
        reasons.append("another seed")
    if old_r.get("grader") != new_r.get("grader"):
        reasons.append(f"grader {old_r.get('grader')} → {new_r.get('grader')}")
    if not reasons and (old.get("error") or new.get("error")):
        reasons.append("grading failed in one run: " + str(new.get("error") or old.get("error"))[:120])
    return reasons or ["graded again with the same file, graders and seed (a nondeterministic check?)"]


def _late_reasons(old_r: dict, new_r: dict) -> list[str]:
    reasons = []
    old_late = (old_r.get("course") or {}).get("late") or {}
    new_late = (new_r.get("course") or {}).get("late") or {}
    for a in sorted(set(old_late) | set(new_late)):
        o, n = old_late.get(a) or {}, new_late.get(a) or {}
        if o == n:
            continue
        what = []
        if o.get("extension") != n.get("extension"):
            what.append(f"extension {'added' if not o.get('extension') else 'changed'}: {n.get('extension') or 'none'}"
                        if n.get("extension") else "extension removed")
        if o.get("submitted_at") != n.get("submitted_at"):
            what.append(f"submission time {o.get('submitted_at') or 'unknown'} → {n.get('submitted_at') or 'unknown'}")
        if o.get("due") != n.get("due") and not what:
            what.append(f"due date {o.get('due')} → {n.get('due')}")
        if o.get("penalty_percent") != n.get("penalty_percent"):
            what.append(f"late penalty {_fmt(o.get('penalty_percent'))}% → {_fmt(n.get('penalty_percent'))}%")
        if what:
            reasons.append(f"{a}: " + "; ".join(what))
    return reasons


def diff(old_folder: Path, new_folder: Path) -> Diff:
    old, new = _reports(old_folder), _reports(new_folder)
    changed, unchanged = [], 0
    for slug in sorted(set(old) & set(new), key=lambda s: (new[s].get("student", s).lower(), s)):
        o, n = old[slug], new[slug]
        lines = []
        for ex in sorted(set(o["exercises"]) | set(n["exercises"])):
            oe, ne = o["exercises"].get(ex) or {}, n["exercises"].get(ex) or {}
            oscore = (oe.get("result") or {}).get("score")
            nscore = (ne.get("result") or {}).get("score")
            checks = []
            otests = {t["name"]: t for t in (oe.get("result") or {}).get("tests") or []}
            ntests = {t["name"]: t for t in (ne.get("result") or {}).get("tests") or []}
            for name in sorted(set(otests) | set(ntests), key=lambda k: list(ntests).index(k) if k in ntests else 999):
                a, b = otests.get(name), ntests.get(name)
                if (a or {}).get("score") != (b or {}).get("score") or (a or {}).get("max_score") != (b or {}).get("max_score"):
                    checks.append(f"    {name}: {_fmt((a or {}).get('score'))} / {_fmt((a or {}).get('max_score'))}"
                                  f" → {_fmt((b or {}).get('score'))} / {_fmt((b or {}).get('max_score'))}")
            if oscore != nscore or checks:
                lines.append(f"  {ex}: raw {_fmt(oscore)} → {_fmt(nscore)} ({'; '.join(_exercise_reasons(oe, ne, o, n))})")
                lines += checks
        late = _late_reasons(o, n)
        lines += [f"  {line}" for line in late]
        if lines or abs(_final(o) - _final(n)) > 1e-9:
            changed.append(StudentChange(n.get("student", slug), _final(o), _final(n), lines))
        else:
            unchanged += 1
    return Diff(changed, unchanged, sorted(old[s].get("student", s) for s in set(old) - set(new)),
                sorted(new[s].get("student", s) for s in set(new) - set(old)))


def format_diff(d: Diff) -> str:
    out = []
    for c in d.changed:
        out.append(f"{c.student}: final {_fmt(c.old_final)} → {_fmt(c.new_final)}")
        out += c.lines
    for name in d.only_old:
        out.append(f"{name}: only in the old grades")
    for name in d.only_new:
        out.append(f"{name}: only in the new grades")
    out.append(f"{len(d.changed)} student(s) changed, {d.unchanged} unchanged"
               + (f", {len(d.only_old)} only in the old grades" if d.only_old else "")
               + (f", {len(d.only_new)} only in the new grades" if d.only_new else ""))
    return "\n".join(out)
