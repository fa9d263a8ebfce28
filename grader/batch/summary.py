"""The instructor's summary: figures over the class (summary.json), and as markdown (summary.md)."""

from __future__ import annotations

import statistics
from collections import Counter

from grader.batch.common import not_reached
from grader.exercises import Exercise
from grader.text import counted, sanitize

def summarize(reports: dict[str, dict], exercises: list[Exercise]) -> dict:
    """Figures for the instructor: score distribution, the checks that fail most, the commonest hints.

    Over the students graded: when a run was interrupted, those it did not
    reach are left out and counted in ``partial``."""
    everyone = len(reports)
    reports = {slug: r for slug, r in reports.items()
               if not any(not_reached(e) for e in r["exercises"].values())}
    percents = sorted(r.get("percent", 0.0) for r in reports.values())
    bins = [0] * 10
    for p in percents:
        bins[min(int(p // 10), 9)] += 1
    failed: Counter = Counter()
    hints: Counter = Counter()
    kinds: Counter = Counter()
    graded_per_ex: Counter = Counter()
    per_ex_scores: dict[str, list[float]] = {ex.name: [] for ex in exercises}
    missing: Counter = Counter()
    errors: Counter = Counter()
    sandboxes: dict[str, dict] = {}  # the layers in effect -> students and machines
    for r in reports.values():
        for name, entry in r["exercises"].items():
            result = entry.get("result")
            if entry.get("missing") and not entry.get("refused"):
                missing[name] += 1
            if entry.get("error") or entry.get("refused"):  # refused: a file was there, not graded (a link)
                errors[name] += 1
            if not result:
                continue
            graded_per_ex[name] += 1
            per_ex_scores.setdefault(name, []).append(result["score"])
            layers = ", ".join(result.get("sandbox") or []) or "not recorded"
            seen = sandboxes.setdefault(layers, {"students": set(), "hosts": set()})
            seen["students"].add(r.get("slug") or r.get("student"))
            if entry.get("job"):
                seen["hosts"].add(str(entry["job"]).rsplit(":", 1)[0])
            seen_hints = set()
            for t in result.get("tests", []):
                if t["status"] == "passed":
                    continue
                failed[(name, t["name"])] += 1
                kinds[t.get("kind") or t["status"]] += 1
                # The grader's own hints (CheckResult.hints), never text read out of the output.
                for h in t.get("hints") or []:
                    h = str(h).removeprefix("Hint:").strip()
                    if (name, h) not in seen_hints:  # once per student and exercise
                        seen_hints.add((name, h))
                        hints[(name, h)] += 1
    median = statistics.median(percents) if percents else 0.0
    return {
        "students": len(reports),
        # None for a complete run; else how many students the interrupted run had not graded.
        "partial": {"students_in_class": everyone, "not_graded_yet": everyone - len(reports)}
        if everyone > len(reports) else None,
        "mean_percent": round(statistics.fmean(percents), 2) if percents else 0.0,
        "median_percent": round(median, 2),
        "histogram": [{"from": 10 * i, "to": 10 * i + 10, "students": n} for i, n in enumerate(bins)],
        "exercises": [{
            "exercise": ex.name, "title": ex.title, "max_score": ex.max_score, "graded": graded_per_ex[ex.name],
            "mean_score": round(sum(per_ex_scores[ex.name]) / len(per_ex_scores[ex.name]), 3)
            if per_ex_scores[ex.name] else None,
            "missing": missing[ex.name], "errors": errors[ex.name]} for ex in exercises],
        "failed_checks": [{"exercise": e, "check": c, "students": n,
                           "percent": round(100.0 * n / max(graded_per_ex[e], 1), 1)}
                          for (e, c), n in failed.most_common(15)],
        "hints": [{"exercise": e, "hint": h, "students": n} for (e, h), n in hints.most_common(10)],
        "failure_kinds": dict(kinds.most_common()),
        "sandboxes": [{"layers": layers, "students": len(v["students"]), "hosts": sorted(v["hosts"])}
                      for layers, v in sorted(sandboxes.items(), key=lambda kv: -len(kv[1]["students"]))],
    }


def format_summary(s: dict) -> str:
    """The summary as markdown (readable as plain text too); every figure says its unit and population."""
    n = s["students"]
    partial = s.get("partial")
    title = f"# Batch grading: {counted(n, 'student')}"
    if partial:
        title = (f"# Batch grading (partial): {n} of {counted(partial['students_in_class'], 'student')} graded; "
                 f"the run was interrupted, {partial['not_graded_yet']} not graded yet")
    over = (f"the {counted(n, 'student')} graded so far" if partial else
            "the one student" if n == 1 else f"all {n} students")
    lines = [title, "",
             f"Total score, over {over} "
             f"(an exercise without a file counts as 0): "
             f"mean {s['mean_percent']:.1f}%, median {s['median_percent']:.1f}%.", "",
             f"## Score distribution (students per band of total percent; {counted(n, 'student')})", "", "```"]
    top = max((b["students"] for b in s["histogram"]), default=0) or 1
    for b in s["histogram"]:
        label = f"{b['from']}-{b['to']}%".rjust(7)
        lines.append(f"{label} | {'#' * round(40 * b['students'] / top):<40} {b['students']}")
    lines += ["```", "", "## Exercises", "",
              "Mean score in points, over the students graded on that exercise (those without a file, or whose "
              "grading failed, are counted apart).", "",
              "| exercise | students graded | mean score (points, of those graded) | students without a file "
              "| students not graded (errors) |", "|---|---|---|---|---|"]
    for e in s["exercises"]:
        mean = f"{e['mean_score']:g} / {e['max_score']:g}" if e["mean_score"] is not None else "-"
        lines.append(f"| {e['exercise']} | {e['graded']} | {mean} | {e['missing']} | {e['errors']} |")
    lines += ["", "## Checks failed most", ""]
    if s["failed_checks"]:
        lines += ["| exercise | check | students who failed it | percent of the students graded on the exercise |",
                  "|---|---|---|---|"]
        lines += [f"| {c['exercise']} | {c['check']} | {c['students']} | {c['percent']:.0f}% |"
                  for c in s["failed_checks"]]
    else:
        lines.append("None: every graded check passed.")
    lines += ["", "## Most frequent hints", ""]
    if s["hints"]:
        lines += ["| exercise | hint | students given it |", "|---|---|---|"]
        lines += [f"| {h['exercise']} | {_md_cell(h['hint'])} | {h['students']} |" for h in s["hints"]]
    else:
        lines.append("No hint was given.")
    if s["failure_kinds"]:
        lines += ["", "Failed checks by cause (number of checks, all students and exercises graded): "
                  + ", ".join(f"{k} {n}" for k, n in s["failure_kinds"].items()) + "."]
    if s.get("sandboxes"):
        lines += ["", "## Sandbox", "", "The isolation layers in effect (students graded with them, and where):", ""]
        for box in s["sandboxes"]:
            hosts = f" on {', '.join(box['hosts'])}" if box["hosts"] else ""
            lines.append(f"- {box['layers']}: {counted(box['students'], 'student')}{hosts}")
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return sanitize(text, 300).replace("|", "\\|").replace("\n", " ")
